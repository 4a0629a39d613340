"""Let a new venv see the packages of the venv whose interpreter created it (scripts/bootstrap.sh).

`python -m venv --system-site-packages NEW` reaches the *base* interpreter's packages only. When that
python is itself a venv's (torch installed with `python -m venv env; env/bin/pip install torch`), NEW
would not see that torch and bootstrap would install a second one. Run with the creating interpreter:
`"$PYTHON" scripts/link_parent_env.py NEW` lists its package folders in NEW's `_actrep_parent_env.pth`,
after NEW's own, so what bootstrap installs into NEW still wins. Does nothing outside a venv.
"""
import subprocess
import sys
from pathlib import Path


def main(new_venv: str) -> None:
    if sys.prefix == sys.base_prefix:  # a base interpreter (system, pyenv, conda): --system-site-packages suffices
        return
    folders = [p for p in sys.path if p.endswith(("site-packages", "dist-packages"))]
    query = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    target = Path(subprocess.check_output([str(Path(new_venv, "bin", "python")), "-c", query], text=True).strip())
    (target / "_actrep_parent_env.pth").write_text("".join(f"{folder}\n" for folder in folders))
    print(f"[bootstrap] the venv also sees the packages of {sys.prefix} ({target / '_actrep_parent_env.pth'})")


if __name__ == "__main__":
    main(sys.argv[1])
