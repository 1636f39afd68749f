"""Every role's argument spec matches its defaults, and every option is fully declared."""

import re
from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).parents[2] / "roles").iterdir() if (p / "meta").is_dir())
SECRET_WORDS = ("password", "secret_key", "private_key", "token")


def _entry_points():
    """(role, entry point) for every entry point of every role's argument spec; each has its own
    defaults file, defaults/<entry point>.yml (include_role with defaults_from)."""
    return [(role, name) for role in ROLES
            for name in sorted(yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"])]


ENTRY_POINTS = _entry_points()


def _load(role, entry_point="main"):
    defaults_file = role / "defaults" / f"{entry_point}.yml"
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    return defaults or {}, spec["argument_specs"][entry_point]["options"]


def test_every_role_has_a_main_entry_point():
    mains = {role.name for role, name in ENTRY_POINTS if name == "main"}
    assert {r.name for r in ROLES} <= mains


@pytest.mark.parametrize("role,entry_point", ENTRY_POINTS, ids=lambda p: getattr(p, "name", p))
def test_defaults_are_declared_with_the_same_value(role, entry_point):
    defaults, options = _load(role, entry_point)
    undeclared = sorted(set(defaults) - set(options))
    assert undeclared == [], f"{role.name}: defaults missing from meta/argument_specs.yml"
    different = {k: (defaults[k], options[k].get("default")) for k in defaults if defaults[k] != options[k].get("default")}
    assert different == {}, f"{role.name}: default differs between defaults/main.yml and the spec"


@pytest.mark.parametrize("role,entry_point", ENTRY_POINTS, ids=lambda p: getattr(p, "name", p))
def test_spec_options_without_default_are_required(role, entry_point):
    defaults, options = _load(role, entry_point)
    loose = sorted(k for k, v in options.items() if k not in defaults and not v.get("required"))
    assert loose == [], f"{role.name}: options neither defaulted nor required"


@pytest.mark.parametrize("role,entry_point", ENTRY_POINTS, ids=lambda p: getattr(p, "name", p))
def test_options_have_type_and_description(role, entry_point):
    options = _load(role, entry_point)[1]
    incomplete = sorted(
        k for k, v in options.items()
        if "type" not in v or not v.get("description") or (v["type"] == "list" and "elements" not in v)
    )
    assert incomplete == [], f"{role.name}: options lacking type, description or list elements"


def _exposed_secrets(options, prefix=""):
    """Secret-named options without no_log; a list of dicts is covered by no_log on its secret fields."""
    exposed = []
    for name, option in options.items():
        if "options" in option:
            exposed += _exposed_secrets(option["options"], f"{prefix}{name}.")
        elif any(word in name for word in SECRET_WORDS) and not option.get("no_log"):
            exposed.append(prefix + name)
    return sorted(exposed)


@pytest.mark.parametrize("role,entry_point", ENTRY_POINTS, ids=lambda p: getattr(p, "name", p))
def test_secrets_are_no_log(role, entry_point):
    assert _exposed_secrets(_load(role, entry_point)[1]) == [], f"{role.name}: secret options without no_log"


def test_no_role_restates_a_stack_wide_default():
    """Stack-wide inputs have their default in the common role only; other roles read them as they are."""
    roles = Path(__file__).parents[2] / "roles"
    contract = yaml.safe_load((roles / "common" / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    pattern = re.compile(r"\b(%s)\s*\|\s*default\(" % "|".join(contract))
    restated = [f"{path.relative_to(roles)}: {line.strip()}" for path in roles.rglob("*") if path.suffix in (".yml", ".j2")
                for line in path.read_text().splitlines() if pattern.search(line)]
    assert restated == []
    for role in ROLES:
        if role.name != "common":
            assert set(_load(role)[0]).isdisjoint(contract), f"{role.name} redefines a stack-wide input"
