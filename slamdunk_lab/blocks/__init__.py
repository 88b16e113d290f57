"""Blocks: the catalogue (pure data) and, in :mod:`slamdunk_lab.blocks.modules`, their torch modules."""

from .catalog import BLOCKS, catalog, get_block
from .spec import BlockProblem, BlockSpec, GraphContext, Param

__all__ = ["BLOCKS", "BlockProblem", "BlockSpec", "GraphContext", "Param", "catalog", "get_block"]
