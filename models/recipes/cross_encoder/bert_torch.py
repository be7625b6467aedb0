"""A BERT encoder in plain PyTorch (Debian's 1.13, no transformers package) that loads
HuggingFace-style safetensors weights, plus the sequence-classification head of
`BertForSequenceClassification` (pooler dense+tanh on [CLS], then a linear classifier).

Weight names follow HuggingFace BERT (a leading 'bert.' is accepted), so a fine-tuned
model saves back to safetensors that `bert_onnx.py --kind cross-encoder` converts.
"""

import math

import numpy as np
import torch
from torch import nn

from st_io import read_safetensors, write_safetensors  # noqa: F401,E402


class Layer(nn.Module):
    def __init__(self, h, heads, inter, eps, drop):
        super().__init__()
        self.heads = heads
        self.q = nn.Linear(h, h)
        self.k = nn.Linear(h, h)
        self.v = nn.Linear(h, h)
        self.o = nn.Linear(h, h)
        self.ln1 = nn.LayerNorm(h, eps=eps)
        self.i = nn.Linear(h, inter)
        self.out = nn.Linear(inter, h)
        self.ln2 = nn.LayerNorm(h, eps=eps)
        self.drop = nn.Dropout(drop)

    def forward(self, x, bias):
        b, s, h = x.shape
        d = h // self.heads

        def split(t):
            return t.view(b, s, self.heads, d).transpose(1, 2)

        q, k, v = split(self.q(x)), split(self.k(x)), split(self.v(x))
        att = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + bias
        att = self.drop(torch.softmax(att, dim=-1))
        ctx = torch.matmul(att, v).transpose(1, 2).reshape(b, s, h)
        x = self.ln1(x + self.drop(self.o(ctx)))
        y = self.out(nn.functional.gelu(self.i(x)))
        return self.ln2(x + self.drop(y))


_LAYER_NAMES = {
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "o": "attention.output.dense", "ln1": "attention.output.LayerNorm",
    "i": "intermediate.dense", "out": "output.dense", "ln2": "output.LayerNorm",
}


class CrossEncoder(nn.Module):
    """BERT + pooler + classifier -> one relevance logit per (query, passage) pair."""

    def __init__(self, cfg, drop=0.1):
        super().__init__()
        h = cfg["hidden_size"]
        eps = cfg.get("layer_norm_eps", 1e-12)
        self.cfg = cfg
        self.word = nn.Embedding(cfg["vocab_size"], h)
        self.pos = nn.Embedding(cfg["max_position_embeddings"], h)
        self.typ = nn.Embedding(cfg.get("type_vocab_size", 2), h)
        self.ln = nn.LayerNorm(h, eps=eps)
        self.layers = nn.ModuleList(
            Layer(h, cfg["num_attention_heads"], cfg["intermediate_size"], eps, drop)
            for _ in range(cfg["num_hidden_layers"]))
        self.pooler = nn.Linear(h, h)
        self.classifier = nn.Linear(h, 1)
        self.drop = nn.Dropout(drop)

    def forward(self, ids, types, mask):
        s = ids.shape[1]
        pos = torch.arange(s, device=ids.device).unsqueeze(0)
        x = self.drop(self.ln(self.word(ids) + self.pos(pos) + self.typ(types)))
        bias = (1.0 - mask[:, None, None, :].to(x.dtype)) * -1e9
        for layer in self.layers:
            x = layer(x, bias)
        pooled = torch.tanh(self.pooler(x[:, 0]))
        return self.classifier(self.drop(pooled)).squeeze(-1)

    # ---- HuggingFace names <-> modules
    def _pairs(self):
        yield "embeddings.word_embeddings.weight", self.word.weight
        yield "embeddings.position_embeddings.weight", self.pos.weight
        yield "embeddings.token_type_embeddings.weight", self.typ.weight
        yield "embeddings.LayerNorm.weight", self.ln.weight
        yield "embeddings.LayerNorm.bias", self.ln.bias
        for n, layer in enumerate(self.layers):
            for attr, hf in _LAYER_NAMES.items():
                mod = getattr(layer, attr)
                yield f"encoder.layer.{n}.{hf}.weight", mod.weight
                yield f"encoder.layer.{n}.{hf}.bias", mod.bias
        yield "pooler.dense.weight", self.pooler.weight
        yield "pooler.dense.bias", self.pooler.bias
        yield "classifier.weight", self.classifier.weight
        yield "classifier.bias", self.classifier.bias

    def load_hf(self, tensors, seed_head=0):
        """Loads HF weights; a missing pooler/classifier is initialized (seeded)."""
        norm = {}
        for k, v in tensors.items():
            k = k[5:] if k.startswith("bert.") else k
            k = k.replace("LayerNorm.gamma", "LayerNorm.weight").replace("LayerNorm.beta", "LayerNorm.bias")
            norm[k] = v
        g = torch.Generator().manual_seed(seed_head)
        missing = []
        with torch.no_grad():
            for name, p in self._pairs():
                if name in norm:
                    arr = torch.from_numpy(norm[name]).to(p.dtype)
                    if tuple(arr.shape) != tuple(p.shape):
                        raise ValueError(f"{name}: checkpoint shape {tuple(arr.shape)} != {tuple(p.shape)}")
                    p.copy_(arr)
                elif name.startswith(("pooler.", "classifier.")):
                    missing.append(name)
                    if name.endswith("weight"):
                        p.copy_(torch.randn(p.shape, generator=g) * self.cfg.get("initializer_range", 0.02))
                    else:
                        p.zero_()
                else:
                    raise ValueError(f"checkpoint lacks {name}")
        return missing

    def hf_state(self):
        return {name: p.detach().cpu().numpy().astype(np.float32) for name, p in self._pairs()}
