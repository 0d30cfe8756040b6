"""The `skmmvae` command and the package's import footprint."""

import io
import subprocess
import sys

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
