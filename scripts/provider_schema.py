"""The Google Terraform provider's resource schema, offline, from the npm package `@cdktf/provider-google`.

No Terraform provider can be downloaded here, but the cdktf bindings carry the provider's full
schema in their jsii assembly (`package/.jsii`): one `<Resource>Config` struct per resource and data
source, one struct per nested block, each property optional or not, and its Terraform name in the
docs link. This script fetches the package with `npm pack`, reads the assembly once and writes a
compact schema:

    {"provider": "registry.terraform.io/hashicorp/google", "provider_version": "6.50.0",
     "package_version": "16.12.1",
     "resources": {"google_pubsub_subscription": {"arguments": {"name": true, "labels": false, ...},
                                                  "blocks": {"retry_policy": {"required": false,
                                                             "arguments": {...}, "blocks": {...}}}}},
     "data_sources": {"google_project": {...}}, "provider_config": {"arguments": {"project": false, ...}}}

(`arguments` maps each argument to whether it is required.) It lives in
`$SPORTSFLOW_PROVIDER_SCHEMA_DIR` (default `~/.cache/sportsflow/provider-google`)`/<package version>/schema.v2.json`.

It also checks Terraform configuration against that schema (`check_configuration`): every
resource and data source type exists, every argument and nested block (also in `dynamic` blocks)
exists where it is written, and every required argument and block is set.

    python scripts/provider_schema.py                  # fetch if missing, print the schema path
    python scripts/provider_schema.py --offline        # only use the cache (exit 1 when absent)
    python scripts/provider_schema.py --check infra    # and check infra/ against it (exit 1 on a problem)
"""
from __future__ import annotations

import argparse
import difflib
import functools
import json
import os
import re
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

PACKAGE = "@cdktf/provider-google"
# 16.12.1 is the last release; it pins hashicorp/google 6.50.0 (package.json "cdktf.provider").
PACKAGE_VERSION = "16.12.1"
SCHEMA_FILE = "schema.v2.json"  # bump when the extracted shape changes
_ASSEMBLY_MEMBER = "package/.jsii"
_PACKAGE_JSON_MEMBER = "package/package.json"
_REGISTRY_LINK = re.compile(r"/docs/(resources|data-sources)/(\w+)#(\w+) ")
_PROVIDER_CONFIG = "@cdktf/provider-google.provider.GoogleProviderConfig"
_CLASS_LINK = re.compile(r"\{@link https://registry\.terraform\.io/providers/hashicorp/google/[^/]+/docs/"
                         r"(resources|data-sources)/\w+ (google_\w+)\}")
_META_ARGUMENTS = {"connection", "count", "dependsOn", "forEach", "lifecycle", "provider", "provisioners"}
# Terraform's own arguments and blocks, valid in every resource and data source.
_TERRAFORM_ARGUMENTS = {"count", "depends_on", "for_each", "provider"}
_TERRAFORM_BLOCKS = {"lifecycle", "provisioner", "connection"}
_BLOCK_MARK = "__is_block__"


class SchemaUnavailable(RuntimeError):
    """The schema is not cached and npm could not fetch the package."""


def cache_root() -> Path:
    return Path(os.environ.get("SPORTSFLOW_PROVIDER_SCHEMA_DIR", "~/.cache/sportsflow/provider-google")).expanduser()


def schema_path(version: str = PACKAGE_VERSION) -> Path:
    return cache_root() / version / SCHEMA_FILE


def cached_schema(version: str = PACKAGE_VERSION) -> dict[str, Any] | None:
    path = schema_path(version)
    return json.loads(path.read_text()) if path.exists() else None


def ensure_schema(version: str = PACKAGE_VERSION, timeout_s: float = 300) -> Path:
    """The cached schema's path, fetching and extracting the package first when it is missing."""
    path = schema_path(version)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as scratch:
        tarball = _npm_pack(version, Path(scratch), timeout_s)
        schema = schema_from_tarball(tarball)
        staged = Path(scratch) / SCHEMA_FILE
        staged.write_text(json.dumps(schema, sort_keys=True, separators=(",", ":")))
        staged.replace(path)  # atomic: a concurrent reader sees no half-written file
    return path


def _npm_pack(version: str, into: Path, timeout_s: float) -> Path:
    command = ["npm", "pack", f"{PACKAGE}@{version}", "--pack-destination", str(into), "--loglevel=error"]
    try:
        result = subprocess.run(command, cwd=into, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise SchemaUnavailable(f"`{' '.join(command)}` failed: {err}") from err
    tarballs = list(into.glob("*.tgz"))
    if result.returncode != 0 or not tarballs:
        raise SchemaUnavailable(f"`{' '.join(command)}` failed (exit {result.returncode}): "
                                f"{result.stderr.strip()[-500:]} — is the npm registry reachable?")
    return tarballs[0]


def schema_from_tarball(tarball: Path) -> dict[str, Any]:
    with tarfile.open(tarball, "r:gz") as archive:
        assembly = json.load(archive.extractfile(_ASSEMBLY_MEMBER))
        package = json.load(archive.extractfile(_PACKAGE_JSON_MEMBER))
    provider = package["cdktf"]["provider"]
    schema = schema_from_assembly(assembly)
    return {"provider": provider["name"], "provider_version": provider["version"],
            "package_version": package["version"], **schema}


def schema_from_assembly(assembly: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """{"resources": {type: body}, "data_sources": {type: body}, "provider_config": body} from a jsii
    assembly's types."""
    types: dict[str, dict] = assembly["types"]
    found: dict[str, dict[str, Any]] = {"resources": {}, "data_sources": {},
                                        "provider_config": _block_body(types, _PROVIDER_CONFIG)}
    for jsii_type in types.values():
        match = _CLASS_LINK.search(jsii_type.get("docs", {}).get("summary", ""))
        if jsii_type.get("kind") != "class" or not match or "initializer" not in jsii_type:
            continue
        config = next((p["type"].get("fqn") for p in jsii_type["initializer"].get("parameters", [])
                       if p["name"] == "config"), None)
        if config in types:
            kind = "resources" if match.group(1) == "resources" else "data_sources"
            found[kind][match.group(2)] = _block_body(types, config, top_level=True)
    return found


def _block_body(types: dict[str, dict], fqn: str, top_level: bool = False) -> dict[str, Any]:
    arguments: dict[str, bool] = {}
    blocks: dict[str, dict] = {}
    for prop in types[fqn].get("properties", []):
        if top_level and prop["name"] in _META_ARGUMENTS:
            continue
        name = _terraform_name(prop)
        required = not prop.get("optional", False)
        nested = _struct_of(types, prop["type"])
        if nested is None:
            arguments[name] = required
        else:
            blocks[name] = {"required": required, **_block_body(types, nested)}
    return {"arguments": arguments, "blocks": blocks}


def _struct_of(types: dict[str, dict], type_ref: dict) -> str | None:
    """The struct a property is a block of (directly, in a list/set, or in a union), else None."""
    if "fqn" in type_ref:
        target = types.get(type_ref["fqn"], {})
        return type_ref["fqn"] if target.get("kind") == "interface" and target.get("datatype") else None
    if "collection" in type_ref:
        return _struct_of(types, type_ref["collection"]["elementtype"])
    for member in type_ref.get("union", {}).get("types", []):
        struct = _struct_of(types, member)
        if struct:
            return struct
    return None


def _terraform_name(prop: dict) -> str:
    match = _REGISTRY_LINK.search(prop.get("docs", {}).get("remarks", ""))
    if match:
        return match.group(3)
    return re.sub(r"(?<!^)(?=[A-Z])", "_", prop["name"]).lower()


# --- checking configuration against the schema -----------------------------------------
def check_configuration(infra: Path, schema: dict[str, Any]) -> list[str]:
    """Every problem of the `.tf` files in `infra` against the schema, as "file: address: what"."""
    problems: list[str] = []
    for path in sorted(infra.glob("*.tf")):
        document = _parsed(path.read_text())
        for keyword, kind in (("resource", "resources"), ("data", "data_sources")):
            for block in document.get(keyword, []):
                for type_name, instances in _without_mark(block).items():
                    for name, body in _without_mark(instances).items():
                        address = f"{path.name}: {'data.' if keyword == 'data' else ''}{type_name}.{name}"
                        problems += _check_instance(address, type_name, body, schema[kind], kind)
        for block in document.get("provider", []):
            for name, body in _without_mark(block).items():
                if name == "google":
                    problems += _check_body(f"{path.name}: provider google", body, schema["provider_config"])
    return problems


@functools.lru_cache(maxsize=64)
def _parsed(text: str) -> dict[str, Any]:
    """One .tf file, blocks marked (parsing is slow; unchanged files are parsed once)."""
    import hcl2
    from hcl2 import SerializationOptions

    return hcl2.loads(text, serialization_options=SerializationOptions(
        strip_string_quotes=True, explicit_blocks=True, with_comments=False))


def _check_instance(address: str, type_name: str, body: dict, known: dict[str, dict], kind: str) -> list[str]:
    if type_name not in known:
        return [f"{address}: the google provider has no {kind[:-1].replace('_', ' ')} {type_name}"
                f"{_suggestion(type_name, known)}"]
    return _check_body(address, body, known[type_name], top_level=True)


def _check_body(address: str, body: dict, schema: dict[str, Any], top_level: bool = False) -> list[str]:
    problems: list[str] = []
    arguments, blocks = schema["arguments"], schema["blocks"]
    written_blocks: set[str] = set()
    for key, value in body.items():
        if key == _BLOCK_MARK or (top_level and key in _TERRAFORM_ARGUMENTS):
            continue
        if top_level and key in _TERRAFORM_BLOCKS:
            continue
        if key == "dynamic" and isinstance(value, list):
            for dynamic in value:
                for block_name, generator in _without_mark(dynamic).items():
                    written_blocks.add(block_name)
                    problems += _check_block(f"{address}: dynamic {block_name}", block_name,
                                             generator.get("content", []), blocks)
            continue
        if _is_block_list(value):
            written_blocks.add(key)
            problems += _check_block(f"{address}: {key}", key, value, blocks)
        elif key in arguments:
            continue
        elif key in blocks:
            problems.append(f"{address}: {key} is a block: write `{key} {{ ... }}`, not `{key} = ...`")
        else:
            problems.append(f"{address}: {key} is not an argument here{_suggestion(key, {**arguments, **blocks})}")
    problems += [f"{address}: required argument {name} is not set"
                 for name, required in sorted(arguments.items()) if required and name not in body]
    problems += [f"{address}: required block {name} is missing"
                 for name, block in sorted(blocks.items()) if block["required"] and name not in written_blocks]
    return problems


def _check_block(address: str, name: str, bodies: list[dict], blocks: dict[str, dict]) -> list[str]:
    if name not in blocks:
        return [f"{address}: {name} is not a block here{_suggestion(name, blocks)}"]
    return [problem for body in bodies for problem in _check_body(address, body, blocks[name])]


def _is_block_list(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, dict) and v.get(_BLOCK_MARK) for v in value)


def _without_mark(mapping: dict) -> dict:
    return {key: value for key, value in mapping.items() if key != _BLOCK_MARK}


def _suggestion(name: str, known: dict) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--version", default=PACKAGE_VERSION, help=f"{PACKAGE} version [{PACKAGE_VERSION}]")
    parser.add_argument("--offline", action="store_true", help="never run npm; fail when the schema is not cached")
    parser.add_argument("--check", type=Path, metavar="DIR", help="check the .tf files in DIR against the schema")
    args = parser.parse_args(argv)
    if args.offline:
        path = schema_path(args.version)
        if not path.exists():
            print(f"error: no cached schema at {path}: run python scripts/provider_schema.py", file=sys.stderr)
            return 1
    else:
        try:
            path = ensure_schema(args.version)
        except SchemaUnavailable as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    schema = json.loads(path.read_text())
    print(f"{path}: google provider {schema['provider_version']}, {len(schema['resources'])} resources, "
          f"{len(schema['data_sources'])} data sources")
    if args.check is None:
        return 0
    problems = check_configuration(args.check, schema)
    for problem in problems:
        print(f"{args.check}/{problem}", file=sys.stderr)
    print(f"{args.check}: {len(problems)} problem(s) against the provider schema")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
