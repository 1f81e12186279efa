"""Model callables for suites that query a model (robustness, LLM red-teaming).

A model is anything with the small :class:`Model` interface. Two implementations sit
beside it: :class:`EstimatorModel` wraps a scikit-learn style estimator and
:class:`FunctionModel` wraps a plain function, which is also the in-memory model tests use.

Security: :func:`load_model` can unpickle a model file. Unpickling runs arbitrary code
from the file, so only load model files you trust (the same rule as for ``pickle`` and
``joblib`` themselves).
"""

from __future__ import annotations

import abc
import importlib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from charter.domain.errors import BadInput, PayloadTooLarge
from charter.evaluation.loading import DEFAULT_MAX_BYTES, human_bytes

_PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")


class Model(abc.ABC):
    """A classifier the suites can query on a frame of feature columns."""

    @abc.abstractmethod
    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Return one predicted label per row."""

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Return class probabilities ``(rows, classes)``, or None when the model has none."""
        return None

    @property
    def classes(self) -> Sequence[Any] | None:
        """The class labels in the column order of :meth:`predict_proba`, when known."""
        return None


class EstimatorModel(Model):
    """A scikit-learn style estimator: ``predict`` and, when present, ``predict_proba``."""

    def __init__(self, estimator: Any) -> None:
        if not callable(getattr(estimator, "predict", None)):
            raise BadInput(f"{type(estimator).__name__} has no predict() method")
        self.estimator = estimator

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Return the estimator's ``predict`` output as an array."""
        return np.asarray(self.estimator.predict(frame))

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Return the estimator's ``predict_proba`` output, or None when it has none."""
        method = getattr(self.estimator, "predict_proba", None)
        if not callable(method):
            return None
        return np.asarray(method(frame), dtype=np.float64)

    @property
    def classes(self) -> Sequence[Any] | None:
        """The estimator's ``classes_`` when it has been fitted with them."""
        found = getattr(self.estimator, "classes_", None)
        return None if found is None else list(found)


class FunctionModel(Model):
    """A plain function ``f(frame) -> array`` used as a model.

    The output decides how it is read: a 2-D array is class probabilities (columns in the
    order of ``classes``, default ``0..k-1``) and the label is the arg-max; a 1-D float
    array with values in [0, 1] that are not all 0/1 is the probability of the positive
    class ``classes[1]`` (default 1), thresholded at ``threshold``; anything else is labels.
    """

    def __init__(
        self,
        function: Callable[[pd.DataFrame], Any],
        *,
        classes: Sequence[Any] | None = None,
        threshold: float = 0.5,
    ) -> None:
        if not callable(function):
            raise BadInput("the model must be callable")
        self.function = function
        self._classes = list(classes) if classes is not None else None
        self.threshold = threshold

    def _raw(self, frame: pd.DataFrame) -> np.ndarray:
        output = np.asarray(self.function(frame))
        if output.ndim == 0 or output.shape[0] != len(frame):
            raise BadInput(
                f"the model returned {output.shape} for {len(frame)} rows; "
                "it must return one value (or one row of probabilities) per input row"
            )
        return output

    @staticmethod
    def _is_probability_vector(output: np.ndarray) -> bool:
        if output.ndim != 1 or not np.issubdtype(output.dtype, np.floating):
            return False
        finite = np.isfinite(output).all()
        return bool(finite and output.min() >= 0 and output.max() <= 1) and not bool(
            np.isin(output, (0.0, 1.0)).all()
        )

    def _probabilities(self, output: np.ndarray) -> np.ndarray | None:
        if output.ndim == 2:
            return output.astype(np.float64)
        if self._is_probability_vector(output):
            positive = output.astype(np.float64)
            return np.column_stack([1.0 - positive, positive])
        return None

    def predict(self, frame: pd.DataFrame) -> np.ndarray:
        """Return labels: arg-max of probabilities, a thresholded score, or the output."""
        output = self._raw(frame)
        classes = np.asarray(self.classes) if self.classes is not None else None
        if output.ndim == 2:
            index = output.argmax(axis=1)
            labels: np.ndarray = classes[index] if classes is not None else index
            return labels
        if self._is_probability_vector(output):
            positive = output >= self.threshold
            if classes is not None and len(classes) == 2:
                chosen: np.ndarray = np.where(positive, classes[1], classes[0])
                return chosen
            return positive.astype(np.int64)
        return output

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray | None:
        """Return probabilities when the function's output is probabilistic, else None."""
        return self._probabilities(self._raw(frame))

    @property
    def classes(self) -> Sequence[Any] | None:
        """The class labels given at construction, if any."""
        return self._classes


def as_model(obj: Any) -> Model:
    """Wrap an estimator, a function, or an existing :class:`Model` as a Model."""
    if isinstance(obj, Model):
        return obj
    if callable(getattr(obj, "predict", None)):
        return EstimatorModel(obj)
    if callable(obj):
        return FunctionModel(obj)
    raise BadInput(f"{type(obj).__name__} is neither a model with predict() nor a callable")


def _import_reference(reference: str) -> Any:
    module_name, _, attribute = reference.partition(":")
    if not module_name or not attribute:
        raise BadInput(
            f"model reference {reference!r} must look like 'package.module:function' "
            "or be a path to a .pkl/.pickle/.joblib file"
        )
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise BadInput(f"cannot import module {module_name!r} for the model: {exc}") from exc
    obj: Any = module
    for part in attribute.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as exc:
            raise BadInput(f"module {module_name!r} has no attribute {attribute!r}") from exc
    return obj


def _load_pickle(path: Path, max_bytes: int) -> Any:
    if not path.is_file():
        raise BadInput(f"model file {str(path)!r} does not exist")
    size = path.stat().st_size
    if size > max_bytes:
        raise PayloadTooLarge(
            f"model file {path.name!r} is {human_bytes(size)}, over the limit of "
            f"{human_bytes(max_bytes)}"
        )
    import joblib  # scikit-learn's own dependency; reads both joblib and plain pickles

    try:
        # Unpickling executes code from the file: documented as trusted-files-only.
        return joblib.load(path)
    except Exception as exc:  # any unpickling failure is a bad file from the user's view
        raise BadInput(f"cannot load model file {path.name!r}: {exc}") from exc


def load_model(reference: str | Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> Model:
    """Load a model from ``"package.module:attribute"`` or a pickle/joblib file.

    An imported attribute may be an estimator (anything with ``predict``), a zero-argument
    factory is *not* called, and a plain function becomes a :class:`FunctionModel`. A file
    ending ``.pkl``, ``.pickle`` or ``.joblib`` is unpickled with joblib: **only load files
    you trust**, since unpickling can run arbitrary code.
    """
    text = str(reference)
    if text.lower().endswith(_PICKLE_SUFFIXES):
        return as_model(_load_pickle(Path(text), max_bytes))
    return as_model(_import_reference(text))
