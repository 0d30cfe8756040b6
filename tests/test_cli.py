"""The `skmmvae` command and the package's import footprint."""

import io
import subprocess
import sys

import numpy as np
import pytest

from skmmvae.cli import main, quickstart


def test_quickstart_runs_and_learns():
    out = io.StringIO()
    rows = quickstart(n_samples=400, max_epochs=8, random_state=0, out=out)
    assert [r["method"] for r in rows] == ["MVAE", "MMVAE", "MoPoE"]
    assert all(r["accuracy"] > 0.5 for r in rows)  # chance is 0.25
    assert "z->class" in out.getvalue()


def test_cli_parses_arguments(capsys):
    assert main(["quickstart", "--n-samples", "200", "--max-epochs", "1"]) == 0
    assert "MoPoE" in capsys.readouterr().out


def test_import_is_light():
    code = (
        "import sys, skmmvae; "
        "print(sorted(m for m in ('matplotlib', 'torchvision') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _write_views(tmp_path, n=60):
    import numpy as np
    import pandas as pd

    rng = np.random.RandomState(0)
    a, b = rng.randn(n, 4), rng.randn(n, 3)
    ids = [f"s{i:03d}" for i in range(n)]
    pd.DataFrame(a, columns=list("abcd")).assign(id=ids).to_csv(tmp_path / "a.csv", index=False)
    # view b lacks the first 10 samples and comes shuffled
    frame = pd.DataFrame(b, columns=list("xyz")).assign(id=ids).iloc[10:].sample(frac=1.0)
    frame.to_csv(tmp_path / "b.tsv", sep="\t", index=False)
    np.save(tmp_path / "c.npy", b)
    return a, b, ids


def test_fit_command_aligns_views_on_ids_and_writes_latents(tmp_path, capsys):
    import pandas as pd

    a, b, ids = _write_views(tmp_path)
    out = tmp_path / "z.csv"
    args = [str(tmp_path / "a.csv"), str(tmp_path / "b.tsv"), "--id-column", "id"]
    code = main(
        ["fit", *args, "--method", "MMVAEPlus", "--out", str(out), "--max-epochs", "2"]
        + ["--param", "n_shared=3", "--param", "n_private=2", "--quiet"]
    )
    assert code == 0
    Z = pd.read_csv(out, index_col=0)
    assert list(Z.index) == ids and Z.shape == (60, 3 + 2 * 2)
    assert list(Z.columns[:4]) == ["z0", "z1", "z2", "w0_0"]
    assert Z.iloc[:10, -2:].eq(0).all().all()  # view 1 missing -> private latents 0
    assert "wrote 7 latent columns for 60 samples" in capsys.readouterr().out


def test_fit_views_reads_npy_in_row_order_and_saves_the_model(tmp_path):
    import joblib

    from skmmvae.cli import fit_views, read_view_files

    a, b, _ = _write_views(tmp_path)
    np_path = str(tmp_path / "c.npy")
    X, ids = read_view_files([np_path, np_path])
    assert X.views[0].shape == b.shape and list(ids) == list(range(60))
    est = fit_views(
        [np_path, np_path],
        "MVAE",
        str(tmp_path / "z.csv"),
        {"n_latent": 2, "max_epochs": 1, "random_state": 0},
        model_out=str(tmp_path / "m.joblib"),
        stream=io.StringIO(),
    )
    assert joblib.load(tmp_path / "m.joblib").n_views_ == est.n_views_ == 2


def test_fit_command_reports_bad_input_clearly(tmp_path, capsys):
    _write_views(tmp_path)
    a, npy = str(tmp_path / "a.csv"), str(tmp_path / "c.npy")
    cases = [
        ([a, npy], "non-numeric column"),  # the id column without --id-column
        ([npy, str(tmp_path / "nope.csv")], "not found"),
        ([npy, str(tmp_path / "b.tsv"), "--id-column", "id"], ".npy files have no columns"),
        ([a, a, "--id-column", "sample"], "no column 'sample'"),
        ([npy, npy, "--param", "lambda1"], "NAME=VALUE"),
        ([npy, npy, "--param", "lamda1=3"], "lamda1"),
    ]
    for args, message in cases:
        assert main(["fit", *args, "--out", str(tmp_path / "z.csv")]) == 2
        assert message in capsys.readouterr().err
    (tmp_path / "v.json").write_text("{}")
    assert main(["fit", npy, str(tmp_path / "v.json")]) == 2
    assert "unsupported file type" in capsys.readouterr().err


def test_fit_refuses_view_files_that_share_no_sample_ids(tmp_path, capsys):
    """Two files whose ids never meet (here 's001' vs 'S-1') would train a model in
    which no sample has two views: an error naming the files and their id counts."""
    import pandas as pd

    _write_views(tmp_path)
    frame = pd.read_csv(tmp_path / "a.csv")
    frame.assign(id=[f"S-{i}" for i in range(len(frame))]).to_csv(tmp_path / "d.csv", index=False)
    args = [str(tmp_path / "a.csv"), str(tmp_path / "d.csv"), "--id-column", "id"]
    assert main(["fit", *args, "--out", str(tmp_path / "z.csv")]) == 2
    err = capsys.readouterr().err
    assert "share no sample ids in column 'id'" in err and "a.csv: 60" in err
    assert not (tmp_path / "z.csv").exists()


def test_fit_refuses_a_view_file_that_shares_no_id_with_the_others(tmp_path, capsys):
    """a.csv and b.tsv overlap; d.csv shares no id with either: refused, naming it."""
    import pandas as pd

    _write_views(tmp_path)
    frame = pd.read_csv(tmp_path / "a.csv")
    frame.assign(id=[f"S-{i}" for i in range(len(frame))]).to_csv(tmp_path / "d.csv", index=False)
    paths = [str(tmp_path / n) for n in ("a.csv", "b.tsv", "d.csv")]
    assert main(["fit", *paths, "--id-column", "id", "--out", str(tmp_path / "z.csv")]) == 2
    err = capsys.readouterr().err
    assert f"The view file(s) ['{paths[2]}'] share no sample ids" in err


def test_model_card_reports_the_epoch_early_stopping_restored(tmp_path):
    """Without --max-epochs (60 samples: early stopping) the card's loss parts are those
    of the epoch with the lowest validation loss, whose weights were restored."""
    from skmmvae.cli import fit_views

    _write_views(tmp_path)
    card = tmp_path / "card.md"
    est = fit_views(
        [str(tmp_path / "a.csv"), str(tmp_path / "b.tsv")],
        "MVAE",
        str(tmp_path / "z.csv"),
        {"n_latent": 2, "hidden_layer_sizes": (8,), "random_state": 0, "n_iter_no_change": 3},
        id_column="id",
        stream=io.StringIO(),
        model_card=str(card),
    )
    valid = np.array(est.history_[:, "valid_loss"])
    best = int(np.argmin(valid))
    assert len(valid) > best + 1  # it stopped after the best epoch
    text = card.read_text()
    assert f"Loss parts of epoch {best + 1} (per sample; the best validation loss" in text
    assert f"| valid_loss | {valid[best]:.4g} |" in text


def test_fit_reports_coverage_and_writes_imputed_views_and_a_model_card(tmp_path, capsys):
    import pandas as pd

    a, b, ids = _write_views(tmp_path)
    paths = [str(tmp_path / "a.csv"), str(tmp_path / "b.tsv")]
    card, imputed = tmp_path / "card.md", tmp_path / "imputed"
    code = main(
        ["fit", *paths, "--id-column", "id", "--method", "mmvaeplus", "--max-epochs", "2"]
        + ["--param", "n_shared=2", "--param", "n_private=2", "--out", str(tmp_path / "z.csv")]
        + ["--imputed-dir", str(imputed), "--model-card", str(card)]
    )
    assert code == 0
    out = capsys.readouterr().out
    assert "60 samples; 50 have every view" in out
    assert "view 0 (a.csv): 60 samples, 4 features, missing in 0" in out
    assert "view 1 (b.tsv): 50 samples, 3 features, missing in 10" in out
    assert "\x1b[" not in out  # captured output is no terminal: no colour codes
    # the imputed view b: its columns, every sample id, observed rows as read, the 10
    # samples the file lacks filled in
    view_b = pd.read_csv(imputed / "b.imputed.csv", index_col=0)
    assert list(view_b.columns) == ["x", "y", "z"] and list(view_b.index) == ids
    truth = pd.read_csv(tmp_path / "b.tsv", sep="\t").set_index("id").loc[ids[10:]]
    np.testing.assert_allclose(view_b.iloc[10:].to_numpy(), truth.to_numpy(), rtol=1e-6)
    assert np.isfinite(view_b.iloc[:10].to_numpy()).all()
    text = card.read_text()
    assert text.startswith("# Model card: MMVAEPlus")
    assert "- `n_shared` = `2`" in text and "- view 1 (b.tsv): 50 samples" in text
    assert "| train_loss |" in text and "Loss parts of epoch 2" in text


def test_epochs_follow_the_data_size_unless_given():
    from skmmvae.cli import EARLY_STOPPING_ROWS, epochs_rule

    params, said = epochs_rule(EARLY_STOPPING_ROWS, {})
    assert params == {"early_stopping": True, "max_epochs": 300} and "early stopping" in said
    params, said = epochs_rule(EARLY_STOPPING_ROWS - 1, {})
    assert params == {"max_epochs": 100} and "100" in said
    assert epochs_rule(10_000, {"max_epochs": 5}) == ({}, None)
    assert epochs_rule(10_000, {"early_stopping": False}) == ({}, None)


def test_version_and_help(capsys):
    from skmmvae import __version__

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"skmmvae {__version__}"
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "Multimodal variational autoencoders" in text and "IDMVAE" in text


def test_epoch_table_has_colour_codes_only_on_a_terminal(capsys, monkeypatch):
    from skmmvae import MVAE, make_shared_private

    X, _, _ = make_shared_private(n_samples=40, n_views=2, n_features=3, random_state=0)
    MVAE(n_latent=2, max_epochs=2, hidden_layer_sizes=(4,), verbose=1).fit(X)
    plain = capsys.readouterr().out
    assert "train_loss" in plain and "\x1b[" not in plain
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    MVAE(n_latent=2, max_epochs=2, hidden_layer_sizes=(4,), verbose=1).fit(X)
    assert "\x1b[" in capsys.readouterr().out  # skorch's highlighting of the best loss
    MVAE(n_latent=2, max_epochs=2, hidden_layer_sizes=(4,), verbose=0).fit(X)
    assert capsys.readouterr().out == ""


def test_demo_reports_both_methods_and_writes_pngs(tmp_path):
    from skmmvae.demo import run_demo

    out = io.StringIO()
    rows = run_demo(
        str(tmp_path),
        n_train=120,
        n_test=60,
        n_views=2,
        max_epochs=1,
        hidden_layer_sizes=(16,),
        classifier_epochs=1,
        stream=out,
        progress=False,
    )
    assert set(rows) == {"IDMVAE", "MMVAE+"}
    for row in rows.values():
        assert 0 <= row["z->digit"] <= 1 and 0 <= row["uncond coh"] <= 1
    text = out.getvalue()
    assert "| IDMVAE |" in text and "| MMVAE+ |" in text
    written = sorted(p.name for p in tmp_path.iterdir())
    assert "results.md" in written and "idmvae_cross_generation.png" in written
    assert "mmvaeplus_latent_map.png" in written and "idmvae_samples.png" in written


def test_demo_with_conv_networks_and_bad_arch(tmp_path):
    from skmmvae.demo import run_demo

    rows = run_demo(
        str(tmp_path),
        n_train=40,
        n_test=20,
        n_views=2,
        max_epochs=1,
        hidden_layer_sizes=(8,),
        arch="conv",
        classifier_epochs=1,
        device="cpu",
        stream=io.StringIO(),
        progress=False,
    )
    assert set(rows) == {"IDMVAE", "MMVAE+"}
    with pytest.raises(ValueError, match="arch"):
        run_demo(str(tmp_path), arch="bogus", stream=io.StringIO(), progress=False)


def test_progress_bar_reports_epochs():
    from skmmvae import MVAE, make_shared_private
    from skmmvae.demo import ProgressBar

    X, _, _ = make_shared_private(n_samples=40, n_views=2, n_features=3, random_state=0)
    stream = io.StringIO()
    bar = ProgressBar(2, "MVAE", stream=stream, width=10)
    MVAE(n_latent=2, max_epochs=2, callbacks=[("bar", bar)], random_state=0).fit(X)
    text = stream.getvalue()
    assert "epoch 1/2" in text and "[##########] epoch 2/2" in text and text.endswith("\n")


def test_demo_verdict_checks_every_criterion():
    from skmmvae.demo import verdict

    good = {"z->digit": 0.9, "w->digit": 0.1, "w->quad": 0.95, "z->quad": 0.3}
    assert verdict(good, 300).startswith("SUCCESS")
    assert verdict(good, 400).startswith("NOT MET") and "time 400 s" in verdict(good, 400)
    for key, bad in (("z->digit", 0.7), ("w->digit", 0.3), ("w->quad", 0.5), ("z->quad", 0.5)):
        line = verdict({**good, key: bad})
        assert line.startswith("NOT MET") and f"{key} {bad:.3f}" in line and "MISSED" in line
