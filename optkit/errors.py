"""Typed errors. `InputError` (and subclasses) means bad input: the CLI prints its one line and exits 2."""


class OptkitError(Exception):
    """Base class of every error optkit raises on purpose."""


class InputError(OptkitError):
    """Bad input from the user (flag, file, parameter). Message names the field and the rule."""


class ValidationError(InputError):
    """An instance field breaks a rule. `field` names it, `rule` states what was expected."""

    def __init__(self, field: str, rule: str):
        self.field = field
        self.rule = rule
        super().__init__(f"{field}: {rule}")


class UnknownNameError(InputError):
    """An id (family, method, scenario, solver) that is not registered."""

    def __init__(self, what: str, name: str, known):
        self.what = what
        self.name = name
        known = sorted(known)
        super().__init__(f"unknown {what} '{name}' (known: {', '.join(known) if known else 'none'})")


class SolverUnavailableError(InputError):
    """A solver that Pyomo knows by name but is not installed on this machine."""
