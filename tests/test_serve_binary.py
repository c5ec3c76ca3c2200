"""The binary tensor data extension's framing (seqkit.serve.binary) without a server: what tritonclient sends and
reads is tested against a running server in test_serve.py; these are the rules at its edges."""
import json

import numpy as np
import pytest

from seqkit.errors import InputError
from seqkit.serve.binary import binary_outputs, pack_response, split_request, unpack_bytes
from seqkit.serve.tensors import to_array


def body(header: dict, *blobs: bytes) -> tuple[bytes, str]:
    head = json.dumps(header).encode()
    return head + b"".join(blobs), str(len(head))


def test_inputs_get_their_own_bytes_in_order_and_json_inputs_stay():
    x, n = np.arange(6, dtype="<f4").reshape(1, 3, 2), np.array([3], "<i8")
    words = [b"caf\xc3\xa9", b"", b"tea"]
    packed = b"".join(len(w).to_bytes(4, "little") + w for w in words)
    raw, length = body({"inputs": [
        {"name": "x", "datatype": "FP32", "shape": [1, 3, 2], "parameters": {"binary_data_size": x.nbytes}},
        {"name": "j", "datatype": "INT64", "shape": [1], "data": [7]},
        {"name": "s", "datatype": "BYTES", "shape": [3], "parameters": {"binary_data_size": len(packed),
                                                                        "content_type": "text"}},
        {"name": "n", "datatype": "INT64", "shape": [1], "parameters": {"binary_data_size": 8}}]},
        x.tobytes(), packed, n.tobytes())
    request = split_request(raw, length, json.loads)
    x_in, j_in, s_in, n_in = request["inputs"]
    np.testing.assert_array_equal(to_array("x", "FP32", [1, 3, 2], x_in["data"]), x)
    assert j_in["data"] == [7] and "parameters" not in x_in
    assert s_in["data"] == words and s_in["parameters"] == {"content_type": "text"}  # its own parameters kept
    assert to_array("n", "INT64", [1], n_in["data"]).tolist() == [3]


def test_an_output_asks_for_itself_over_the_request():
    wanted = binary_outputs({"parameters": {"binary_data_output": True},
                             "outputs": [{"name": "a", "parameters": {"binary_data": False}}, {"name": "b"}]})
    assert (wanted("a"), wanted("b"), wanted("c")) == (False, True, True)
    wanted = binary_outputs({"outputs": [{"name": "a", "parameters": {"binary_data": True}}]})
    assert (wanted("a"), wanted("b")) == (True, False)
    assert not binary_outputs("not a request")("a")


def test_response_puts_wanted_outputs_after_the_header():
    content = {"model_name": "m", "outputs": [
        {"name": "logits", "datatype": "FP32", "shape": [1, 2], "data": [0.5, -1.0]},
        {"name": "ids", "datatype": "INT64", "shape": [2], "data": [1, 2]},
        {"name": "results", "datatype": "BYTES", "shape": [1], "data": ["{\"label\": \"\u00e9\"}"]}]}
    raw, size = pack_response(content, lambda name: name != "ids", lambda c: json.dumps(c).encode())
    header = json.loads(raw[:size])
    logits, ids, results = header["outputs"]
    assert "data" not in logits and ids["data"] == [1, 2] and "data" not in results
    blob = raw[size:]
    assert np.frombuffer(blob[:8], "<f4").tolist() == [0.5, -1.0] and logits["parameters"]["binary_data_size"] == 8
    assert unpack_bytes(blob[8:], "results") == ["{\"label\": \"\u00e9\"}".encode()]
    assert pack_response({"outputs": [{"name": "a", "datatype": "FP32", "shape": [1], "data": [1.0]}]},
                         lambda name: False, json.dumps) is None


@pytest.mark.parametrize("header, blobs, length, words", [
    ({"inputs": []}, [b"x"], None, "belong to no input"),
    ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": True}}]},
     [b"\0" * 4], None, "not a size"),
    ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": 4}}]},
     [b"\0" * 4], "-3", "must be the JSON header's size"),
    ({"inputs": [{"name": "s", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 3}}]},
     [b"\1\0\0"], None, "ends inside"),
])
def test_framing_errors_are_one_line_naming_what(header, blobs, length, words):
    raw, own = body(header, *blobs)
    with pytest.raises(InputError, match=words) as err:
        split_request(raw, length or own, json.loads)
    assert "\n" not in str(err.value)
