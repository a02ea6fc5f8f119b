"""Which wheels install on MWAA 2.11.2 (CPython 3.12, Linux x86_64, glibc 2.34), and what the
private bundle takes from the locks."""

from __future__ import annotations

import zipfile

import pytest

from tokyobeta.ops import release, wheels


@pytest.mark.parametrize("filename", [
    "aenum-3.1.17-py3-none-any.whl",
    "six-1.17.0-py2.py3-none-any.whl",
    "rpds_py-2026.9.1-cp312-cp312-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
    "openlineage_sql-1.44.1-cp39-abi3-manylinux_2_28_x86_64.whl",
    "mysqlclient-2.2.8-cp312-cp312-manylinux_2_34_x86_64.whl",
    "old-1.0-cp312-cp312-manylinux1_x86_64.whl",
    "mixed-1.0-cp312-cp312-macosx_11_0_arm64.manylinux2010_x86_64.whl",
])
def test_accepted(filename):
    assert wheels.wheel_fits(filename)


@pytest.mark.parametrize("filename, why", [
    ("x-1.0-cp311-cp311-manylinux_2_17_x86_64.whl", "another CPython"),
    ("x-1.0-cp313-abi3-manylinux_2_17_x86_64.whl", "stable ABI newer than 3.12"),
    ("x-1.0-cp312-cp312-manylinux_2_35_x86_64.whl", "needs a newer glibc than Amazon Linux 2023's"),
    ("x-1.0-cp312-cp312-manylinux_2_17_aarch64.whl", "another CPU"),
    ("x-1.0-cp312-cp312-musllinux_1_2_x86_64.whl", "musl, not glibc"),
    ("x-1.0-cp312-cp312-linux_x86_64.whl", "built for one machine, not manylinux"),
    ("x-1.0-cp312-cp312-win_amd64.whl", "Windows"),
    ("x-1.0-py2-none-any.whl", "Python 2 only"),
    ("x-1.0-pp310-pypy310_pp73-manylinux_2_17_x86_64.whl", "PyPy"),
])
def test_refused(filename, why):
    assert not wheels.wheel_fits(filename), why


def test_pure_is_any_platform_and_no_abi():
    assert wheels.is_pure("aenum-3.1.17-py3-none-any.whl")
    assert not wheels.is_pure("openlineage_sql-1.44.1-cp39-abi3-manylinux_2_28_x86_64.whl")


def test_lock_pins_take_the_312_branch_of_a_marker_and_the_hashes(tmp_path):
    lock = tmp_path / "x.lock"
    lock.write_text(
        "networkx==3.6.1 ; python_full_version < '3.12'\n    # via dbt-core\n"
        "networkx==3.7 ; python_full_version >= '3.12'\n    # via dbt-core\n"
        "Foo_Bar==1.0 \\\n    --hash=sha256:" + "a" * 64 + " \\\n    --hash=sha256:" + "b" * 64 + "\n    # via x\n"
        "pydynamodb==0.8.1 ; python_full_version >= '3.13'\n")
    pins = wheels.read_lock(lock)
    assert [(p.name, p.version) for p in pins] == [("networkx", "3.7"), ("foo-bar", "1.0")]
    assert pins[1].hashes == {"a" * 64, "b" * 64}


def test_lock_graph_and_the_closure_stop_at_the_image(tmp_path):
    lock = tmp_path / "airflow.lock"
    lock.write_text("apache-airflow==2.11.2\n    # via -r requirements/airflow.in\n"
                    "astronomer-cosmos==1.15.1\n    # via -r requirements/airflow.in\n"
                    "aenum==3.1.17\n    # via astronomer-cosmos\n"
                    "jinja2==3.1.6\n    # via\n    #   -c constraints.txt\n    #   apache-airflow\n    #   astronomer-cosmos\n")
    graph = wheels.lock_graph(lock)
    assert graph["astronomer-cosmos"] == {"aenum", "jinja2"}
    image = wheels.closure(["apache-airflow"], graph)
    assert image == {"apache-airflow", "jinja2"}
    assert wheels.closure(["astronomer-cosmos"], graph, stop=image) == {"astronomer-cosmos", "aenum"}


def test_a_mis_tagged_pure_wheel_is_retagged_and_a_compiled_one_is_not(tmp_path):
    def wheel(name: str, files: dict[str, bytes]):
        path = tmp_path / name
        with zipfile.ZipFile(path, "w") as zf:
            for member, data in files.items():
                zf.writestr(member, data)
            zf.writestr("logbook-1.5.3.dist-info/WHEEL", "Wheel-Version: 1.0\nRoot-Is-Purelib: false\n"
                                                         "Tag: cp312-cp312-linux_x86_64\n")
            zf.writestr("logbook-1.5.3.dist-info/RECORD", "logbook-1.5.3.dist-info/WHEEL,sha256=x,1\n")
        return path

    pure = wheel("logbook-1.5.3-cp312-cp312-linux_x86_64.whl", {"logbook/__init__.py": b""})
    assert not wheels.has_compiled_code(pure)
    fixed = wheels.retag_pure(pure)
    assert fixed.name == "logbook-1.5.3-py3-none-any.whl" and wheels.is_pure(fixed.name)
    with zipfile.ZipFile(fixed) as zf:
        assert "Tag: py3-none-any" in zf.read("logbook-1.5.3.dist-info/WHEEL").decode()
    compiled = wheel("logbook-1.5.3-cp312-cp312-linux_x86_64.whl", {"logbook/_speedups.cpython-312-x86_64-linux-gnu.so": b""})
    assert wheels.has_compiled_code(compiled)


def test_a_cached_wheel_whose_hash_the_lock_does_not_allow_is_refused(tmp_path):
    cache = tmp_path / "cache"
    cache.mkdir()
    (cache / "aenum-3.1.17-py3-none-any.whl").write_bytes(b"not the real wheel")
    pin = wheels.Pin("aenum", "3.1.17", frozenset({"0" * 64}))
    with pytest.raises(wheels.WheelError, match=r"aenum-3.1.17-py3-none-any.whl: sha256 .* aenum==3.1.17"):
        wheels.collect([pin], tmp_path / "out", cache, log=lambda _: None)


def test_private_requirements_install_from_the_bundled_wheels_with_no_index():
    text = f'--constraint "{release.CONSTRAINTS_URL}"\nastronomer-cosmos==1.15.1\n'
    out = release.private_requirements(text).splitlines()
    assert out[out.index("--no-index") + 1] == "--find-links /usr/local/airflow/plugins/wheels/airflow"
    assert f'--constraint "/usr/local/airflow/plugins/wheels/{release.CONSTRAINTS}"' in out
    assert release.CONSTRAINTS_URL not in "\n".join(out) and "astronomer-cosmos==1.15.1" in out
    with pytest.raises(release.ReleaseError, match="no line --constraint"):
        release.private_requirements("astronomer-cosmos==1.15.1\n")


def test_a_second_build_takes_every_wheel_from_the_cache_without_pip(tmp_path, monkeypatch):
    """The cache and the wheelhouse are looked in first: with every index out of reach nothing
    is missing, and no download is even attempted."""
    cache, house = tmp_path / "cache", tmp_path / "house"
    cache.mkdir(), house.mkdir()
    (cache / "aenum-3.1.17-py3-none-any.whl").write_bytes(b"cached")
    (cache / "mysqlclient-2.2.8-cp312-cp312-linux_x86_64.whl").write_bytes(b"not portable: ignored")
    (house / "mysqlclient-2.2.8-cp312-cp312-manylinux_2_34_x86_64.whl").write_bytes(b"built elsewhere")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    said: list[str] = []
    out = wheels.collect([wheels.Pin("aenum", "3.1.17"), wheels.Pin("mysqlclient", "2.2.8")], tmp_path / "out",
                         cache, house, log=said.append)
    assert [p.name for p in out] == ["aenum-3.1.17-py3-none-any.whl",
                                     "mysqlclient-2.2.8-cp312-cp312-manylinux_2_34_x86_64.whl"]
    assert said == [] and out[1].read_bytes() == b"built elsewhere"
