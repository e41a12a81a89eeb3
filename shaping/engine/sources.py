"""Code versions from the import closure: what a match or an artifact actually runs.

The code version of a match or an artifact is a hash of

- the source of every project module reachable by imports from its root modules (the
  algorithm's, the game's and, for a match, the match loop's), found by reading the source
  with `ast`, transitively, including imports inside functions, and including the
  `__init__.py` of every package on the way (importing `a.b.c` runs `a/__init__.py` and
  `a/b/__init__.py`); each file enters with its path relative to the project root, so moving
  a module changes the version rather than silently dropping it;
- the versions of torch and numpy, and of every third-party distribution that a module of
  the closure imports (e.g. axelrod, ray): a wrapped library's version decides numbers too.

Editing a module that an entrant does not import leaves its keys, and so its stored matches
and artifacts, valid; editing one it does import invalidates them.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.util
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from importlib import metadata
from pathlib import Path

import shaping

#: the project's top-level packages: imports of anything else are libraries or the stdlib
PROJECT_PACKAGES = ("shaping", "algorithms", "games")
PROJECT_ROOT = Path(shaping.__file__).resolve().parents[1]
#: libraries whose numerics decide every result, whether or not a module names them
NUMERIC_LIBRARIES = ("numpy", "torch")
#: the module whose loop plays a match (part of every match's closure)
MATCH_LOOP_MODULE = "shaping.engine.match"


@dataclass
class SourceIndex:
    """Import closures and digests of the modules of one project tree, read once each."""

    root: Path = PROJECT_ROOT
    packages: tuple[str, ...] = PROJECT_PACKAGES
    _imports: dict[str, tuple[frozenset[str], frozenset[str]]] = field(
        default_factory=dict, repr=False
    )
    _digests: dict[str, str] = field(default_factory=dict, repr=False)
    _external: dict[str, Path] = field(default_factory=dict, repr=False)

    def _add_external(self, module: str) -> bool:
        """Register the source file of `module`, a root outside the project; False if it has
        none (then `closure` reports it as unknown)."""
        try:
            spec = importlib.util.find_spec(module)
        except (ImportError, ValueError):
            return False
        if spec is None or not spec.origin or not spec.origin.endswith(".py"):
            return False
        self._external[module] = Path(spec.origin)
        return True

    def path(self, module: str) -> Path | None:
        """The source file of project module `module` (or of a root outside the project that
        `closure` was given), None if it is not one."""
        if module in self._external:
            return self._external[module]
        if module.partition(".")[0] not in self.packages:
            return None
        base = self.root.joinpath(*module.split("."))
        for candidate in (base.with_suffix(".py"), base / "__init__.py"):
            if candidate.is_file():
                return candidate
        return None

    def closure(self, roots: Iterable[str]) -> frozenset[str]:
        """Every project module reachable by imports from `roots`, the roots included. A root
        outside the project (an algorithm in a user's own package, or in a test) enters with
        its own file, and the project modules it imports with theirs."""
        seen: set[str] = set()
        pending = []
        for root in roots:
            if root in self._external or (self.path(root) is None and self._add_external(root)):
                pending.append(root)
            else:
                pending.extend(self._with_parents(root))
        while pending:
            module = pending.pop()
            if module in seen:
                continue
            if self.path(module) is None:
                raise ValueError(f"{module!r} is not a module of the project under {self.root}")
            seen.add(module)
            pending.extend(self._project_imports(module) - seen)
        return frozenset(seen)

    def libraries(self, modules: Iterable[str]) -> frozenset[str]:
        """Top-level names of the non-project, non-stdlib modules that `modules` import."""
        names = set()
        own = {module.partition(".")[0] for module in self._external}
        for module in modules:
            for imported in self._all_imports(module)[0]:
                top = imported.partition(".")[0]
                if top not in {*self.packages, *own, *sys.stdlib_module_names}:
                    names.add(top)
        return frozenset(names)

    def version(self, roots: Iterable[str]) -> str:
        """The code version of whatever runs from `roots`: `<package version>+<16 hex>`."""
        modules = self.closure(roots)
        digest = hashlib.sha256()
        for module in sorted(modules):
            digest.update(f"{self._relative(module)}\0{self._digest(module)}\n".encode())
        digest.update(library_versions(self.libraries(modules)).encode())
        return f"{shaping.__version__}+{digest.hexdigest()[:16]}"

    def _relative(self, module: str) -> str:
        if module in self._external:
            return f"<{module}>"
        return self.path(module).relative_to(self.root).as_posix()  # type: ignore[union-attr]

    def _digest(self, module: str) -> str:
        if module not in self._digests:
            self._digests[module] = hashlib.sha256(self.path(module).read_bytes()).hexdigest()  # type: ignore[union-attr]
        return self._digests[module]

    def _with_parents(self, module: str) -> list[str]:
        parts = module.split(".")
        return [".".join(parts[: i + 1]) for i in range(len(parts))]

    def _all_imports(self, module: str) -> tuple[frozenset[str], frozenset[str]]:
        """What `module`'s source imports, anywhere in the file, as absolute names: the
        modules it names (`import X`, the X of `from X import Y`), and the names that may be
        submodules (the X.Y of `from X import Y`)."""
        if module in self._imports:
            return self._imports[module]
        path = self.path(module)
        is_package = path.name == "__init__.py"  # type: ignore[union-attr]
        tree = ast.parse(path.read_bytes(), filename=str(path))  # type: ignore[union-attr]
        named: set[str] = set()
        maybe: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                named.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = _absolute(node, module, is_package)
                named.add(base)
                maybe.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
        self._imports[module] = (frozenset(named), frozenset(maybe))
        return self._imports[module]

    def _project_imports(self, module: str) -> set[str]:
        named, maybe = self._all_imports(module)
        found = set()
        for name in named:
            if name.partition(".")[0] not in self.packages:
                continue
            if self.path(name) is None:
                # the import would fail when run; a silently smaller key would be worse
                raise ValueError(f"{module} imports {name!r}, which is not a module of the project")
            found.update(self._with_parents(name))
        found.update(name for name in maybe if self.path(name) is not None)
        return found


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The absolute module name of `from <node.module> import ...` written in `module`."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - node.level + 1]
    return ".".join([*base, node.module] if node.module else base)


def library_versions(libraries: Iterable[str] = ()) -> str:
    """`name==version` of the numeric libraries and of `libraries` (import names, mapped to
    their distributions), sorted and `;`-joined; a library not installed reads `name==absent`."""
    versions = set()
    for name in {*NUMERIC_LIBRARIES, *libraries}:
        for distribution in _distributions(name):
            try:
                versions.add(f"{distribution}=={metadata.version(distribution)}")
            except metadata.PackageNotFoundError:
                versions.add(f"{distribution}==absent")
    return ";".join(sorted(versions))


@cache
def _import_to_distributions() -> dict[str, tuple[str, ...]]:
    return {name: tuple(dists) for name, dists in metadata.packages_distributions().items()}


def _distributions(import_name: str) -> tuple[str, ...]:
    """The (lower-case) names of the distributions that provide `import_name`."""
    names = _import_to_distributions().get(import_name, (import_name,))
    return tuple(sorted({name.lower() for name in names}))


@cache
def project_index() -> SourceIndex:
    """The index of this checkout's modules, shared by the whole process: source files do not
    change under a running tournament (a worker reads its code once, at import)."""
    return SourceIndex()


def code_version(roots: Iterable[str]) -> str:
    """The code version of the project modules reachable from `roots` (see the module
    docstring), e.g. `code_version(["algorithms.lola", "games.matrix", MATCH_LOOP_MODULE])`."""
    return project_index().version(sorted(set(roots)))
