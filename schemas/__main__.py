"""Prints the bus contract as JSON Schema: ``python -m schemas > contract.json``."""

from __future__ import annotations

import json

from schemas.export import contract

if __name__ == "__main__":
    print(json.dumps(contract(), indent=2, sort_keys=True))
