"""The course assignments grade themselves with nbgrader, both ways.

In a temporary course directory (nbgrader's layout and an nbgrader_config.py), nbgrader's own
``generate_assignment`` makes the student version of every assignment in examples/course/assignments/source/.
Two students hand in: "solution" hands in the teacher's notebook (solutions in place), "released" hands in the
student version untouched. One ``nbgrader autograde`` run grades both: the solution gets every point of every
autograder cell, the untouched version gets none, and each of its autograder cells fails with the sentence of an
``sd.check`` (in the assignment's language), not a NameError.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "examples" / "course" / "assignments" / "source"
ASSIGNMENTS = sorted(p.name for p in SOURCE.iterdir() if p.is_dir())
NBGRADER = [sys.executable, "-m", "nbgrader"]
CONFIG = """\
c = get_config()  # noqa: F821
c.CourseDirectory.root = {root!r}
c.CourseDirectory.course_id = "slamdunk-course"
c.ExecutePreprocessor.timeout = 300
c.Execute.timeout = 300
"""


def _run(args, cwd, env):
    done = subprocess.run([*NBGRADER, *args], check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("nbgrader-course")
    work = tmp_path_factory.mktemp("work")
    shutil.copytree(SOURCE, root / "source")
    (root / "nbgrader_config.py").write_text(CONFIG.format(root=str(root)), encoding="utf-8")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "SLAMDUNK_CACHE_DIR": str(work / "cache"),
           "SLAMDUNK_RUNS_DIR": str(work / "runs"), "MLFLOW_TRACKING_URI": f"sqlite:///{work / 'mlflow.db'}",
           "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
           # nbgrader runs the `alembic` command of its environment: the venv's bin first, as activating it would
           "PATH": os.pathsep.join(filter(None, [str(Path(sys.executable).parent), os.environ.get("PATH")]))}
    shared = ROOT.parent / "shared" / "data"
    if (shared / "tinyshakespeare.txt").exists():
        env["SLAMDUNK_DATA_DIR"] = str(shared)
    for name in ASSIGNMENTS:
        _run(["generate_assignment", name, "--force"], root, env)
        shutil.copytree(root / "source" / name, root / "submitted" / "solution" / name)
        shutil.copytree(root / "release" / name, root / "submitted" / "released" / name)
    graded = _run(["autograde", "*", "--force"], root, env)
    return root, graded


def _grades(root: Path, name: str, student: str) -> tuple[float, float, dict]:
    """(score, max score, {grade_id: (points, max points, error text)}) of one autograded notebook."""
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        sub = gb.find_submission_notebook(name, name, student)
        cells = {g.name: (g.score, g.max_score) for g in sub.grades}
        score, max_score = sub.score, sub.max_score
    nb = nbformat.read(root / "autograded" / student / name / f"{name}.ipynb", as_version=4)
    out = {}
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in cells:
            errors = [f"{o.get('ename')}: {o.get('evalue')}" for o in cell.get("outputs", [])
                      if o.get("output_type") == "error"]
            out[grade_id] = (*cells[grade_id], "\n".join(errors))
    return score, max_score, out


def test_every_assignment_has_english_and_korean_and_a_generated_student_version():
    assert len([a for a in ASSIGNMENTS if not a.endswith("-ko")]) >= 4
    for name in ASSIGNMENTS:
        if not name.endswith("-ko"):
            assert f"{name}-ko" in ASSIGNMENTS
        nb = nbformat.read(SOURCE / name / f"{name}.ipynb", as_version=4)
        graded = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade")]
        assert graded and all(c.metadata["nbgrader"]["locked"] and c.metadata["nbgrader"]["points"] > 0
                              for c in graded)
        assert all("sd.check." in c.source and ".require()" in c.source for c in graded), name


def test_each_korean_assignment_is_its_english_twin_in_korean():
    """Same cells, same code, same grade ids and points; only the prose and the checks' language differ."""
    for name in (a for a in ASSIGNMENTS if not a.endswith("-ko")):
        en = nbformat.read(SOURCE / name / f"{name}.ipynb", as_version=4)
        ko = nbformat.read(SOURCE / f"{name}-ko" / f"{name}-ko.ipynb", as_version=4)
        assert [c.metadata.get("nbgrader") for c in en.cells] == [c.metadata.get("nbgrader") for c in ko.cells]
        for a, b in zip(en.cells, ko.cells):
            if a.cell_type == "markdown":
                assert a.source != b.source and any("\uac00" <= ch <= "\ud7a3" for ch in b.source), name
            else:
                assert a.source.replace('sd.check.set_language("en")', "") == \
                       b.source.replace('sd.check.set_language("ko")', "").replace(
                           "# 채점 메시지의 언어(\"en\": 영어)", '# the language of the grader\'s messages ("ko": Korean)'), name


def test_the_solution_gets_every_point(course):
    root, _ = course
    for name in ASSIGNMENTS:
        score, max_score, cells = _grades(root, name, "solution")
        failed = {k: v[2] for k, v in cells.items() if v[0] != v[1]}
        assert score == max_score > 0 and not failed, (name, failed)


def test_the_untouched_student_version_gets_nothing_and_says_why(course):
    root, _ = course
    for name in ASSIGNMENTS:
        score, max_score, cells = _grades(root, name, "released")
        assert max_score > 0 and score == 0, (name, cells)
        for grade_id, (points, _, error) in cells.items():
            assert points == 0 and error.startswith("CheckFailed: "), (name, grade_id, error)
            message = error.removeprefix("CheckFailed: ")
            assert len(message) > 20, (name, grade_id, error)
            korean = any("\uac00" <= ch <= "\ud7a3" for ch in message)
            assert korean == name.endswith("-ko"), (name, grade_id, message)


def test_report_what_the_autograder_printed(course, capsys):
    """Not an assertion about wording: prints every autograder cell's result (the course docs quote them)."""
    root, _ = course
    lines = []
    for name in ASSIGNMENTS:
        for student in ("solution", "released"):
            score, max_score, cells = _grades(root, name, student)
            lines.append(f"{name} / {student}: {score:g} of {max_score:g}")
            for grade_id, (points, top, error) in cells.items():
                lines.append(f"    {grade_id}: {points:g}/{top:g} {error.splitlines()[0] if error else 'passed'}")
    report = "\n".join(lines)
    (root / "autograde-report.txt").write_text(report, encoding="utf-8")
    with capsys.disabled():
        print("\n" + report)
    assert json.dumps(report)
