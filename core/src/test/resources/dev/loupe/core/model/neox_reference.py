"""GPT-NeoX forward pass (Pythia) in plain PyTorch, from a Hugging Face-style directory.

Usage: python3 neox_reference.py TOKENS_JSON HOOKS OUT_DIR MODEL_DIR [MODEL_DIR ...]
For each MODEL_DIR (config.json + fp32 model.safetensors) writes OUT_DIR/<index>.bin: the logits of
every sequence in TOKENS_JSON (a list of lists of ids), each run alone (unpadded), then for every
hook in HOOKS (comma-separated TransformerLens names) that the model has its activation for every sequence; all as
little-endian float32, sequence after sequence. Written for Loupe's cross-check test from the
published GPT-NeoX definition (fused per-head qkv, partial rotate-half RoPE, exact GELU, parallel or
sequential residual); it reads the safetensors file by hand so that it needs only torch.

Hook conventions follow TransformerLens: ln*.hook_normalized is the LayerNorm output after weight and
bias, attn.hook_q/k are before the rotation with [pos, heads, d_head], attn.hook_pattern is
[heads, query, key].
"""
import json
import math
import struct
import sys

import torch
import torch.nn.functional as F


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
        tensors[name] = torch.frombuffer(buf, dtype=torch.float32).reshape(meta["shape"])
    return tensors


def forward(cfg, w, ids, hooks):
    d = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    dh = d // heads
    rot = int(dh * cfg.get("rotary_pct", 0.25))
    eps = cfg.get("layer_norm_eps", 1e-5)
    bias = cfg.get("attention_bias", True)
    parallel = cfg.get("use_parallel_residual", True)
    assert cfg.get("hidden_act", "gelu") == "gelu"
    t = len(ids)
    got = {}

    def hook(name, value):
        if name in hooks:
            got[name] = value.clone()

    def linear(x, name, has_bias=True):
        assert (name + ".bias" in w) == has_bias, name + ".bias presence disagrees with config.json"
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if has_bias else y

    def layer_norm(x, name):
        return F.layer_norm(x, (d,), w[name + ".weight"], w[name + ".bias"], eps)

    factor = 1.0
    if cfg.get("rope_scaling"):
        assert cfg["rope_scaling"].get("rope_type", cfg["rope_scaling"].get("type")) == "linear"
        factor = cfg["rope_scaling"]["factor"]
    inv = 1.0 / (cfg.get("rotary_emb_base", 10000.0) ** (torch.arange(0, rot, 2).float() / rot))
    freqs = torch.outer(torch.arange(t).float() / factor, inv)
    angles = torch.cat([freqs, freqs], dim=-1)
    cos, sin = angles.cos(), angles.sin()

    def rotate(x):  # [heads, pos, dh]: rotate the first `rot` dims only
        r, rest = x[..., :rot], x[..., rot:]
        first, second = r[..., :rot // 2], r[..., rot // 2:]
        return torch.cat([r * cos + torch.cat([-second, first], dim=-1) * sin, rest], dim=-1)

    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    x = w["gpt_neox.embed_in.weight"][torch.tensor(ids)]
    hook("hook_embed", x)
    for layer in range(cfg["num_hidden_layers"]):
        p = "gpt_neox.layers.%d." % layer
        b = "blocks.%d." % layer
        hook(b + "hook_resid_pre", x)
        a = layer_norm(x, p + "input_layernorm")
        hook(b + "ln1.hook_normalized", a)
        qkv = linear(a, p + "attention.query_key_value", bias).view(t, heads, 3 * dh)
        q, k, v = qkv[..., :dh], qkv[..., dh:2 * dh], qkv[..., 2 * dh:]
        hook(b + "attn.hook_q", q)
        hook(b + "attn.hook_k", k)
        hook(b + "attn.hook_v", v)
        q = rotate(q.transpose(0, 1))
        k = rotate(k.transpose(0, 1))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        scores = scores.masked_fill(~causal, float("-inf"))
        hook(b + "attn.hook_attn_scores", scores)
        pattern = scores.softmax(-1)
        hook(b + "attn.hook_pattern", pattern)
        z = (pattern @ v.transpose(0, 1)).transpose(0, 1)
        hook(b + "attn.hook_z", z)
        attn_out = linear(z.reshape(t, d), p + "attention.dense", bias)
        hook(b + "hook_attn_out", attn_out)
        if parallel:
            mlp_in = x
        else:
            x = x + attn_out
            hook(b + "hook_resid_mid", x)
            mlp_in = x
        m = layer_norm(mlp_in, p + "post_attention_layernorm")
        hook(b + "ln2.hook_normalized", m)
        pre = linear(m, p + "mlp.dense_h_to_4h")
        hook(b + "mlp.hook_pre", pre)
        post = F.gelu(pre)
        hook(b + "mlp.hook_post", post)
        mlp_out = linear(post, p + "mlp.dense_4h_to_h")
        hook(b + "hook_mlp_out", mlp_out)
        x = mlp_out + attn_out + x if parallel else x + mlp_out
        hook(b + "hook_resid_post", x)
    n = layer_norm(x, "gpt_neox.final_layer_norm")
    hook("ln_final.hook_normalized", n)
    tied = cfg.get("tie_word_embeddings", False)
    head = w["gpt_neox.embed_in.weight"] if tied else w["embed_out.weight"]
    return n @ head.T, got


def main():
    tokens_json, hooks_arg, out_dir = sys.argv[1:4]
    hooks = [h for h in hooks_arg.split(",") if h]
    torch.set_num_threads(2)
    with open(tokens_json) as f:
        batch = json.load(f)
    for index, model_dir in enumerate(sys.argv[4:]):
        with open(model_dir + "/config.json") as f:
            cfg = json.load(f)
        w = load_safetensors(model_dir + "/model.safetensors")
        with torch.no_grad():
            runs = [forward(cfg, w, ids, set(hooks)) for ids in batch]
        with open("%s/%d.bin" % (out_dir, index), "wb") as out:
            for logits, _ in runs:
                out.write(logits.contiguous().numpy().astype("<f4").tobytes())
            # A parallel-residual model has no resid_mid: hooks a model lacks are left out.
            for name in [h for h in hooks if h in runs[0][1]]:
                for _, got in runs:
                    out.write(got[name].contiguous().numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
