"""The MLflow model of a training run, as MLflow's "models from code": this file *is* the model's code.

MLflow copies this file into the logged model and runs it when the model is loaded
(``mlflow.pyfunc.load_model("runs:/<run id>/model")``); nothing is pickled. The weights travel as the
folder :func:`slamdunk_lab.save` writes (``model.safetensors``, ``graph.json``, ``slamdunk.json`` and the
tokenizer), an artifact of the MLflow model that :func:`slamdunk_lab.load` checks and reads back without
unpickling anything.

``predict`` takes prompts (a pandas DataFrame with a ``prompt`` column, a list of strings or one string) and
returns a DataFrame with the generated text in a ``text`` column. Parameters (``params=``): ``max_new_tokens``
(100), ``temperature`` (0.8), ``top_k`` (40, 0 for no limit), ``top_p`` (0.95), ``seed`` (0) and
``output``: ``"text"`` (the default) or ``"logits"``, which returns instead the model's next-token logits after
each prompt as an array of shape (prompts, vocabulary).

>>> import mlflow                                                                   # doctest: +SKIP
>>> model = mlflow.pyfunc.load_model(f"runs:/{run.mlflow_run_id}/model")             # doctest: +SKIP
>>> model.predict(["ROMEO:"], params={"max_new_tokens": 50})["text"][0]              # doctest: +SKIP
"""

from __future__ import annotations

import warnings
from typing import Any

import mlflow.models
from mlflow.pyfunc import PythonModel

# predict takes prompts in several forms (see prompts_of), checked against the signature, not type hints
warnings.filterwarnings("ignore", message=".*Add type hints to the `predict` method", category=UserWarning)

#: The name of the folder (an artifact of the MLflow model) that holds the ``sd.save`` files.
WEIGHTS_ARTIFACT = "slamdunk_model"
#: predict's parameters and their defaults (also the MLflow signature's params schema).
PARAMS: dict[str, Any] = {"max_new_tokens": 100, "temperature": 0.8, "top_k": 40, "top_p": 0.95, "seed": 0,
                          "output": "text"}


def prompts_of(model_input: Any) -> list[str]:
    """The prompts in what ``predict`` was given: a DataFrame's ``prompt`` column (else its first column), a
    dict with ``"prompt"``, a list of strings or one string."""
    import pandas as pd

    if isinstance(model_input, pd.DataFrame):
        column = "prompt" if "prompt" in model_input.columns else model_input.columns[0]
        values = model_input[column].tolist()
    elif isinstance(model_input, dict):
        values = model_input.get("prompt", [])
        values = [values] if isinstance(values, str) else list(values)
    elif isinstance(model_input, str):
        values = [model_input]
    else:
        values = list(model_input)
    if not all(isinstance(v, str) for v in values):
        raise ValueError(f"every prompt must be a string; got {[type(v).__name__ for v in values]}")
    return values


class SlamDunkModel(PythonModel):
    """A SLaM Dunk Lab language model as an MLflow pyfunc model (see the module docstring)."""

    model: Any  # a GraphModel with the tokenizer it was saved with (.tokenizer)

    def load_context(self, context) -> None:
        from slamdunk_lab.io import load

        self.model = load(context.artifacts[WEIGHTS_ARTIFACT], device="cpu")
        self.tokenizer = self.model.tokenizer

    def predict(self, context, model_input, params: dict[str, Any] | None = None):
        import pandas as pd
        import torch

        from slamdunk_lab.generation import generate

        settings = {**PARAMS, **(params or {})}
        prompts = prompts_of(model_input)
        if settings["output"] == "logits":
            rows = []
            with torch.inference_mode():
                for prompt in prompts:
                    ids = self.tokenizer.encode(prompt)[-self.model.context:] or [0]
                    rows.append(self.model(torch.tensor([ids]))[0, -1].float().numpy())  # (V,)
            import numpy as np

            return np.stack(rows) if rows else np.zeros((0, self.model.vocab_size), dtype=np.float32)
        if settings["output"] != "text":
            raise ValueError(f"params output={settings['output']!r}: choose 'text' or 'logits'")
        texts = [generate(self.model, self.tokenizer, p, max_new_tokens=int(settings["max_new_tokens"]),
                          temperature=float(settings["temperature"]), top_k=int(settings["top_k"]) or None,
                          top_p=float(settings["top_p"]), seed=int(settings["seed"])) for p in prompts]
        return pd.DataFrame({"text": texts})


mlflow.models.set_model(SlamDunkModel())
