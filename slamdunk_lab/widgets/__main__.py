"""``python -m slamdunk_lab.widgets``: regenerate the page's contract (``js/shared/contract.ts``) and the
catalogue fixture of the page's tests from the pydantic models in :mod:`slamdunk_lab.widgets.contract`."""

from .contract import write

for path in write():
    print(f"wrote {path}")
