#!/usr/bin/env bash
# Everything that needs a GPU, in one command, on a machine that has CuPy, PyTorch (CUDA) and
# pytest installed and no network:
#
#     bash benchmarks/gpu_check.sh OUT_DIR
#
# It installs the project without network access, then runs the test suite (its "cuda"
# cases run when CuPy sees a GPU), every demo with --device cuda in quick mode, and the GPU
# benchmark section, writing every log and JSON to OUT_DIR. It stops at once, saying why,
# where CuPy finds no GPU. Each part has its own time limit (the suite 300 s, each demo 60 s,
# the benchmark 120 s); a demo in quick mode takes seconds.
set -uo pipefail
out=${1:?usage: bash benchmarks/gpu_check.sh OUT_DIR}
mkdir -p "$out"
cd "$(dirname "$0")/.."
python=${PYTHON:-python3}
export PYTHONUNBUFFERED=1

# 1. fail fast: no usable GPU means nothing below can say anything
if ! "$python" -c "import cupy, sys; n = cupy.cuda.runtime.getDeviceCount(); sys.exit(0 if n else 1)" \
     >"$out/cupy.log" 2>&1; then
  echo "gpu_check: CuPy finds no usable GPU here (see $out/cupy.log); nothing was run" >&2
  tail -n 3 "$out/cupy.log" >&2
  exit 2
fi
"$python" - >"$out/machine.json" <<'EOF'
import json, platform, cupy
props = cupy.cuda.runtime.getDeviceProperties(0)
info = {"gpu": props["name"].decode(), "cupy": cupy.__version__,
        "cuda_runtime": cupy.cuda.runtime.runtimeGetVersion(), "python": platform.python_version()}
try:
    import torch
    info["torch"], info["torch_cuda"] = torch.__version__, torch.cuda.is_available()
except ImportError:
    info["torch"] = None
print(json.dumps(info))
EOF
echo "gpu_check: $(cat "$out/machine.json")"

# 2. install without network: an editable install when this machine's setuptools can make
#    one, else a copy laid out as the wheel would be (nn/ and optim/ inside tinygrad_lite/)
if "$python" -m pip install -q --no-deps --no-build-isolation --no-index -e . >"$out/install.log" 2>&1; then
  echo "gpu_check: installed (editable)"
else
  site=$(mktemp -d)
  cp -r tinygrad_lite "$site/"
  cp -r nn optim "$site/tinygrad_lite/"
  export PYTHONPATH="$site${PYTHONPATH:+:$PYTHONPATH}"
  echo "gpu_check: pip could not install offline (see install.log); using a wheel-like copy in $site"
fi

status=0
run() {  # run NAME SECONDS COMMAND...: log to OUT/NAME.log, remember a failure, go on
  local name=$1 limit=$2
  shift 2
  echo "gpu_check: $name ..."
  local start=$SECONDS
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  local rc=$?
  echo "gpu_check: $name exit $rc in $((SECONDS - start)) s"
  [ $rc -eq 0 ] || status=1
  tail -n 2 "$out/$name.log"
}

# 3. the suite (every device-generic test runs on cpu, strict and cuda), then the demos on cuda
run tests 300 "$python" -m pytest -q -x -p no:cacheprovider --junitxml="$out/tests.xml"
#    every demo (each file of demos/ but the shared scaffold), so that a demo added later is not missed
for path in demos/*.py; do
  demo=$(basename "$path" .py)
  [ "$demo" = scaffold ] && continue
  run "demo_$demo" 60 "$python" "$path" --quick --device cuda --out "$out/$demo"
done
# 4. the GPU benchmark section (device events, warm-up, medians)
run bench_gpu 120 "$python" benchmarks/bench.py --device cuda --json "$out/bench_gpu.json"
exit $status
