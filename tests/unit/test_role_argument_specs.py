"""Every role's argument spec matches its defaults, and every option is fully declared."""

from pathlib import Path

import pytest
import yaml

ROLES = sorted(p for p in (Path(__file__).parents[2] / "roles").iterdir() if (p / "meta").is_dir())
SECRET_WORDS = ("password", "secret_key", "private_key", "token")


def _load(role):
    defaults_file = role / "defaults" / "main.yml"
    defaults = yaml.safe_load(defaults_file.read_text()) if defaults_file.exists() else {}
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    return defaults or {}, spec["argument_specs"]["main"]["options"]


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_defaults_are_declared_with_the_same_value(role):
    defaults, options = _load(role)
    undeclared = sorted(set(defaults) - set(options))
    assert undeclared == [], f"{role.name}: defaults missing from meta/argument_specs.yml"
    different = {k: (defaults[k], options[k].get("default")) for k in defaults if defaults[k] != options[k].get("default")}
    assert different == {}, f"{role.name}: default differs between defaults/main.yml and the spec"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_spec_options_without_default_are_required(role):
    defaults, options = _load(role)
    loose = sorted(k for k, v in options.items() if k not in defaults and not v.get("required"))
    assert loose == [], f"{role.name}: options neither defaulted nor required"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_options_have_type_and_description(role):
    options = _load(role)[1]
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


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_secrets_are_no_log(role):
    assert _exposed_secrets(_load(role)[1]) == [], f"{role.name}: secret options without no_log"


def test_nginx_falls_back_to_the_mlflow_default_version():
    """The proxy maps the path prefix by MLflow version; without mlflow_version in the inventory it
    must assume the version the mlflow role installs."""
    roles = Path(__file__).parents[2] / "roles"
    mlflow_version = yaml.safe_load((roles / "mlflow" / "defaults" / "main.yml").read_text())["mlflow_version"]
    nginx_default = yaml.safe_load((roles / "nginx" / "defaults" / "main.yml").read_text())["nginx_mlflow_version"]
    assert nginx_default == "{{ mlflow_version | default('%s') }}" % mlflow_version
