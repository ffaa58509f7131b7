"""Imports go one way: config <- data, models, losses <- features <- tasks <- checkpoints <- training.

`kgan.features` holds trained, frozen networks that judge images (the CelebA
attribute classifier): evaluation measures with them and tasks learn from
their features (a content loss), so they sit below both.

`kgan.core` (atomic file writes, one-line error text, scratch folders) sits
at the bottom beside `errors`: it imports only `errors`, and any layer that
writes files or reports errors may import it.

`kgan.latent` is two layers: its core (seeded latents, interpolation; NumPy
only), which training, export and evaluation draw latents from, and the
latent tools (every other module of the package), which sit above
evaluation (its generator loader and classifiers) and below nothing.
"""

import ast
import pathlib

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "kgan"

# Which kgan modules each top-level module may import (besides itself).
ALLOWED = {
    "errors": set(),
    "core": {"errors"},
    "cli": {"errors", "core"},
    "config": {"errors"},
    "images": {"core"},
    "latent": set(),
    "latent.tools": {"config", "errors", "core", "data", "models", "images", "checkpoints",
                     "evaluation", "latent", "conditioning", "features"},
    "conditioning": set(),
    "losses": {"errors"},
    "augment": {"errors"},
    # Optimizer rules on tensors (unrolled GANs): Keras and TensorFlow only.
    "functional_optimizers": set(),
    "data": {"config", "errors", "core", "conditioning", "images"},
    "models": {"config", "errors"},
    "features": {"config", "errors", "core", "data", "models"},
    # A task is a game: networks, data, losses; it never sees the run loop.
    "tasks": {"config", "errors", "core", "data", "models", "losses", "augment", "images",
              "latent", "conditioning", "functional_optimizers", "features"},
    "checkpoints": {"config", "errors", "core", "tasks"},
    # Export serves what a task's serving spec says: no image module below it.
    "export": {"config", "errors", "core", "models", "checkpoints", "latent", "conditioning",
               "tasks"},
    "evaluation": {"config", "errors", "core", "data", "models", "images", "checkpoints",
                   "latent", "conditioning", "tasks", "features"},
    "training": {"config", "errors", "core", "data", "models", "losses", "augment", "images",
                 "checkpoints", "evaluation", "latent", "conditioning", "tasks", "features"},
    # The command-line programs sit on top; `kgan.metrics` is `python -m`'s name for one.
    "commands": {"cli", "config", "errors", "evaluation", "export", "training", "latent",
                 "latent.tools", "core"},
    "metrics": {"commands"},
}


LATENT_CORE = {"__init__", "seeds", "interpolation"}


def layer(module: str) -> str:
    """The layer of a dotted module path below `kgan` (`latent.projection` -> `latent.tools`)."""
    parts = module.split(".")
    if parts[0] == "latent" and len(parts) > 1 and parts[1] not in LATENT_CORE:
        return "latent.tools"
    return parts[0]


def kgan_imports(path):
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("kgan."):
            module = node.module.removeprefix("kgan.")
            found.add(layer(module))
            if module == "latent":  # from kgan.latent import projection
                found.update(layer(f"latent.{alias.name}") for alias in node.names
                             if (PACKAGE / "latent" / f"{alias.name}.py").exists())
        elif isinstance(node, ast.ImportFrom) and node.module == "kgan":
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(layer(a.name.removeprefix("kgan.")) for a in node.names
                         if a.name.startswith("kgan."))
    return found


def test_every_module_is_classified():
    top_level = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}
    top_level |= {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert top_level | {"latent.tools"} == set(ALLOWED)
    assert LATENT_CORE <= {p.stem for p in (PACKAGE / "latent").glob("*.py")}


def test_imports_only_go_down_the_layers():
    violations = []
    for path in PACKAGE.rglob("*.py"):
        relative = path.relative_to(PACKAGE)
        owner = layer(".".join(relative.with_suffix("").parts))
        if owner == "__init__":
            continue
        for imported in kgan_imports(path) - {owner} - ALLOWED[owner]:
            violations.append(f"{relative} imports kgan.{imported}")
    assert not violations


def test_the_latent_tools_sit_above_evaluation_and_its_core_below():
    assert layer("latent") == layer("latent.seeds") == "latent"
    assert layer("latent.projection") == "latent.tools"
    for lower in ("evaluation", "export", "training", "tasks"):
        assert "latent.tools" not in ALLOWED[lower]


def test_nothing_below_training_imports_it():
    """Only the command-line programs, which sit above every layer, run training."""
    assert [owner for owner, allowed in ALLOWED.items() if "training" in allowed] == ["commands"]
