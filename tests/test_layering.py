"""Imports go one way: config <- data, models, losses <- checkpoints <- training."""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "kgan"

# Which kgan modules each top-level module may import (besides itself).
ALLOWED = {
    "errors": set(),
    "cli": {"errors"},
    "config": {"errors"},
    "images": set(),
    "latent": set(),
    "conditioning": set(),
    "losses": {"errors"},
    "data": {"config", "errors", "conditioning"},
    "models": {"config", "errors"},
    "checkpoints": {"config", "errors", "models"},
    "export": {"config", "errors", "models", "images", "checkpoints", "latent", "conditioning"},
    "evaluation": {"config", "errors", "data", "models", "images", "checkpoints", "latent",
                   "conditioning"},
    "training": {"config", "errors", "data", "models", "losses", "images", "checkpoints",
                 "evaluation", "latent", "conditioning"},
}


def kgan_imports(path):
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kgan."):
            found.add(node.module.split(".")[1])
        elif isinstance(node, ast.ImportFrom) and node.module == "kgan":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("kgan."))
    return found


def test_every_module_is_classified():
    top_level = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    top_level |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert top_level == set(ALLOWED)


def test_imports_only_go_down_the_layers():
    violations = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        owner = relative.parts[0].removesuffix(".py")
        if owner == "__init__":
            continue
        for imported in kgan_imports(path) - {owner} - ALLOWED[owner]:
            violations.append(f"{relative} imports kgan.{imported}")
    assert not violations
