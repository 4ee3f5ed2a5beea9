"""One `batten fix --write` run applies everything it offers: no fix is left declining on the
text that earlier fixes of the same run wrote, and a second run finds nothing. On the corpus
(../shared/corpus, copied: never written) and on reduced reproductions of the real-world cases
where it did not (an internal network a neighbour's fix had already joined; a secret file a
neighbour's fix had already written, with the same value or another one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from batten.cli import main
from tests.corpus import require_corpus, writable_copy

FIX = ("--write", "--unsafe", "--accept-defaults")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def converges(capsys, root: Path) -> str:
    code, _out, err = run(capsys, "fix", str(root), *FIX, "--color", "never")
    not_applied = [line for line in err.splitlines() if "not applied" in line]
    assert not_applied == [], "\n".join(not_applied)
    assert code == 0, err[-2000:]
    assert "wrote " in err  # it did write: the check below is not vacuous
    code, _out, err = run(capsys, "fix", str(root), "--check", "--unsafe", "--accept-defaults", "--color", "never")
    assert code == 0 and "nothing to fix" in err, err[-2000:]
    return err


def test_one_run_applies_everything_it_offers_on_the_corpus(tmp_path: Path, capsys) -> None:
    root = writable_copy(require_corpus(), tmp_path / "corpus")
    converges(capsys, root)
    # the projects where fixes used to decline after a neighbour's edit are fixed through
    nb = (root / "netbox-community__netbox-docker" / "docker-compose.yml").read_text()
    assert "internal: true" in nb and nb.count("      - backend") >= 5
    secrets = root / "docker__awesome-compose" / "nextcloud-postgres" / "secrets"
    assert [p.name for p in secrets.iterdir()] == ["postgres_password.txt"]


COMPOSE_CASES = {
    "internal-network": """services:
  web:
    image: nginx:1.27
    ports:
      - "8080:80"
    depends_on:
      - db
  worker:
    image: example/worker:1.0
  db:
    image: postgres:16
""",
    "secret-same-value": """services:
  nc:
    image: nextcloud:apache
    environment:
      - POSTGRES_PASSWORD=nextcloud-pw-1
  db:
    image: postgres:16
    environment:
      - POSTGRES_PASSWORD=nextcloud-pw-1
""",
    "secret-other-value": """services:
  db:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: first-pw-1234
  replica:
    image: postgres:16
    environment:
      POSTGRES_PASSWORD: second-pw-5678
""",
}


@pytest.mark.parametrize("name", sorted(COMPOSE_CASES))
def test_one_run_applies_everything_on_a_reduced_reproduction(tmp_path: Path, capsys, name: str) -> None:
    (tmp_path / "compose.yaml").write_text(COMPOSE_CASES[name])
    converges(capsys, tmp_path)
    text = (tmp_path / "compose.yaml").read_text()
    if name == "internal-network":
        # web keeps its own network beside backend; worker and db are on backend only
        assert text.count("    networks:\n      - default\n      - backend\n") == 1
        assert text.count("    networks:\n      - backend\n") == 2
    else:
        files = sorted(p.name for p in (tmp_path / "secrets").iterdir())
        values = {p.read_text() for p in (tmp_path / "secrets").iterdir()}
        if name == "secret-same-value":
            assert files == ["postgres_password.txt"] and values == {"nextcloud-pw-1"}
            assert text.count("/run/secrets/postgres_password\n") == 2
        else:  # never overwritten: the second value gets a file of its own
            assert files == ["postgres_password.txt", "postgres_password_2.txt"]
            assert values == {"first-pw-1234", "second-pw-5678"}
