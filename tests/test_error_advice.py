"""Errors name what the user typed and give advice that applies to what they ran (issue 27, item 6): a task's
registered name, not its Python class; a bidirectional RUN is retrained, a fresh export drops --bidirectional."""
import pytest

TINY = ("--task", "adding", "--cell", "gru", "--hidden-size", "4", "--epochs", "1", "-T", "length=8", "-T",
        "num_samples=32", "-T", "num_eval=8", "--data", "adding")


@pytest.mark.parametrize("args,expected,not_expected", [
    (["export", "-T", "num_classes=abc"], "task 'classification' option num_classes=abc: expected an integer",
     "ClassificationTask"),
    (["export", "--task", "sentiment", "-T", "bogus=1"], "task 'sentiment' has no option bogus; its options:",
     "SentimentTask"),
    (["train", "--task", "forecasting", "--data", "sunspots", "-T", "horizon=abc"],
     "task 'forecasting' option horizon=abc: expected an integer", "ForecastingTask"),
    (["export", "--cell", "lstm", "-O", "bogus=1"], "cell 'lstm' has no option bogus", "LSTM"),
])
def test_option_errors_name_the_registered_task_or_cell(run, args, expected, not_expected):
    result = run(*args)
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert expected in result.output and not_expected not in result.output, result.output


def test_a_bidirectional_model_cannot_stream_and_the_advice_fits_the_command(run, tmp_path):
    fresh = run("export", "--cell", "gru", "--bidirectional", "--streaming", "-o", "b.onnx")
    assert fresh.exit_code == 1 and "Traceback" not in fresh.output and not (tmp_path / "b.onnx").exists()
    assert "a bidirectional cell reads each sequence backwards" in fresh.output
    assert "drop --bidirectional" in fresh.output and "retrain" not in fresh.output

    trained = run("train", "--bidirectional", *TINY, "--run-dir", "bi")
    assert trained.exit_code == 0, trained.output
    refused = run("export", "bi", "--streaming", "-o", "bi.onnx")
    assert refused.exit_code == 1 and "Traceback" not in refused.output and not (tmp_path / "bi.onnx").exists()
    said = " ".join(refused.output.split())
    assert "cannot export bi for streaming: its model was trained bidirectional" in said
    assert "retrain it unidirectional (seqkit train --cell gru --task adding ... --unidirectional" in said
    assert "drop --bidirectional" not in said  # the user never passed it
    # the advice works: the same training with --unidirectional streams
    again = run("train", "--unidirectional", *TINY, "--run-dir", "uni")
    assert again.exit_code == 0, again.output
    streamed = run("export", "uni", "--streaming", "-o", "uni.onnx")
    assert streamed.exit_code == 0 and (tmp_path / "uni.onnx").exists(), streamed.output
