"""Importers and exporters: designs and models in and out of other formats.

* :mod:`.seed` — designs saved by the original student web project (``sd.graph.from_seed``);
* :mod:`.codegen` — a design as one standalone PyTorch file (``sd.to_code``);
* :mod:`.hf` — Hugging Face ``transformers`` checkpoints, both ways (``sd.export_hf``, ``sd.import_hf``).

They sit above the model layer and read the block catalogue; nothing below them imports them.
"""
