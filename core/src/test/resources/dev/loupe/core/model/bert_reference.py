"""BERT encoder forward pass in plain PyTorch, from a Hugging Face-style directory.

Usage: python3 bert_reference.py TOKENS_JSON HOOKS OUT_DIR MODEL_DIR [MODEL_DIR ...]
For each MODEL_DIR (config.json + fp32 model.safetensors) runs the sequences of TOKENS_JSON (a list
of lists of ids, or an object {"tokens": [[...]], "token_types": [[...]]} giving each token's type
id) as one right-padded batch with an attention mask, token type 0 where none are given, and
writes OUT_DIR/<index>.bin: the last hidden state of every sequence at its real positions, then for
every hook in HOOKS (comma-separated TransformerLens names) its activation for every sequence at the
real positions (for attn.hook_pattern: [heads, real queries, real keys]); all little-endian float32,
sequence after sequence. Written for Loupe's cross-check test from the published BERT definition
(learned absolute positions, post-LayerNorm blocks, exact erf GELU); it reads the safetensors file by
hand so that it needs only torch, and strips a "bert." prefix.

Hook conventions follow TransformerLens's BertBlock: blocks.0.hook_resid_pre is the embedding
LayerNorm's output, hook_resid_post is LN1 output + MLP output before LN2, mlp.hook_post is after GELU.
"""
import json
import math
import struct
import sys

import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, meta in header.items():
        if name == "__metadata__":
            continue
        assert meta["dtype"] == "F32", name
        start, end = meta["data_offsets"]
        buf = bytearray(data[base + start:base + end])
        key = name[len("bert."):] if name.startswith("bert.") else name
        tensors[key] = torch.frombuffer(buf, dtype=torch.float32).reshape(meta["shape"])
    return tensors


def gelu_erf(x):
    return 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))


def layer_norm(x, w, name, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)
    return (x - mean) / torch.sqrt(var + eps) * w[name + ".weight"] + w[name + ".bias"]


def forward(cfg, w, batch, types, hooks):
    assert cfg.get("hidden_act", "gelu") == "gelu"
    assert cfg.get("position_embedding_type", "absolute") == "absolute"
    d = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    dh = d // heads
    eps = cfg.get("layer_norm_eps", 1e-12)
    b = len(batch)
    t = max(len(ids) for ids in batch)
    ids = torch.zeros(b, t, dtype=torch.long)
    type_ids = torch.zeros(b, t, dtype=torch.long)
    real = torch.zeros(b, t, dtype=torch.bool)
    for i, seq in enumerate(batch):
        ids[i, :len(seq)] = torch.tensor(seq)
        if types is not None:
            assert len(types[i]) == len(seq), "token_types[%d] is not as long as tokens[%d]" % (i, i)
            type_ids[i, :len(seq)] = torch.tensor(types[i])
        real[i, :len(seq)] = True
    # Additive mask over keys: padded keys get -inf for every query.
    mask = torch.zeros(b, 1, 1, t).masked_fill(~real[:, None, None, :], float("-inf"))
    got = {}

    def hook(name, value):
        if name in hooks:
            got[name] = value.clone()

    def linear(x, name):
        return x @ w[name + ".weight"].T + w[name + ".bias"]

    x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:t][None]
         + w["embeddings.token_type_embeddings.weight"][type_ids])
    x = layer_norm(x, w, "embeddings.LayerNorm", eps)
    for layer in range(cfg["num_hidden_layers"]):
        p = "encoder.layer.%d." % layer
        h = "blocks.%d." % layer
        hook(h + "hook_resid_pre", x)
        q = linear(x, p + "attention.self.query").view(b, t, heads, dh).transpose(1, 2)
        k = linear(x, p + "attention.self.key").view(b, t, heads, dh).transpose(1, 2)
        v = linear(x, p + "attention.self.value").view(b, t, heads, dh).transpose(1, 2)
        scores = q @ k.transpose(-1, -2) / math.sqrt(dh) + mask
        pattern = torch.softmax(scores, dim=-1)
        hook(h + "attn.hook_pattern", pattern)
        z = (pattern @ v).transpose(1, 2).reshape(b, t, d)
        attn_out = linear(z, p + "attention.output.dense")
        hook(h + "hook_attn_out", attn_out)
        x = layer_norm(x + attn_out, w, p + "attention.output.LayerNorm", eps)
        post = gelu_erf(linear(x, p + "intermediate.dense"))
        hook(h + "mlp.hook_post", post)
        resid_post = x + linear(post, p + "output.dense")
        hook(h + "hook_resid_post", resid_post)
        x = layer_norm(resid_post, w, p + "output.LayerNorm", eps)
    return x, got


def main():
    tokens_json, hooks_arg, out_dir = sys.argv[1:4]
    hooks = [h for h in hooks_arg.split(",") if h]
    torch.set_num_threads(2)
    with open(tokens_json) as f:
        doc = json.load(f)
    # A bare list is the older form: token type 0 throughout.
    batch, types = (doc, None) if isinstance(doc, list) else (doc["tokens"], doc.get("token_types"))
    for index, model_dir in enumerate(sys.argv[4:]):
        with open(model_dir + "/config.json") as f:
            cfg = json.load(f)
        w = load_safetensors(model_dir + "/model.safetensors")
        with torch.no_grad():
            hidden, got = forward(cfg, w, batch, types, set(hooks))
        with open("%s/%d.bin" % (out_dir, index), "wb") as out:
            arrays = [("hidden", hidden)] + [(name, got[name]) for name in hooks]
            for name, a in arrays:
                for i, seq in enumerate(batch):
                    n = len(seq)
                    part = a[i, :, :n, :n] if name.endswith("attn.hook_pattern") else a[i, :n]
                    out.write(part.contiguous().numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
