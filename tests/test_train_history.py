"""The training history: its JSON round trip (strict JSON, non-finite numbers included)."""
import json
import math

import pytest

from tinygrad_lite.train import History


def test_history_json_round_trip(tmp_path):
    h = History(meta={"interrupted": True, "stop_reason": "interrupted"})
    h.log_iteration(2.3, 0.01, 0.1, 0.5)
    h.log_iteration(float("nan"), float("inf"), 0.1, 1.0)
    h.log_epoch(1, (1.5, 0.25), None, 0.1, 0.75)
    h.log_epoch(2, (-math.inf, 0.5), (0.9, 0.75), 0.05, 1.5)
    path = h.save(tmp_path / "h.json")
    text = path.read_text()
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    back = History.load(path)
    assert back.iter_loss[0] == 2.3 and math.isnan(back.iter_loss[1]) and back.iter_reg[1] == math.inf
    assert back.train_loss == [1.5, -math.inf] and back.val_acc == [None, 0.75]
    assert back.epoch == [1, 2] and back.lr == [0.1, 0.05] and back.time == [0.75, 1.5]
    assert back.meta == h.meta and back.interrupted
    assert back.to_dict() == h.to_dict()
    with pytest.raises(ValueError, match="unknown fields"):
        History.from_dict({"bogus": []})
