"""Llama-family forward pass (llama, mistral, qwen2) in plain PyTorch, from a Hugging Face-style directory.

Usage: python3 llama_reference.py TOKENS_JSON HOOKS OUT_DIR MODEL_DIR [MODEL_DIR ...]
For each MODEL_DIR (config.json + fp32 model.safetensors) writes OUT_DIR/<index>.bin: the logits of
every sequence in TOKENS_JSON (a list of lists of ids), each run alone (unpadded), then for every
hook in HOOKS (comma-separated TransformerLens names) its activation for every sequence; all as
little-endian float32, sequence after sequence. Written for Loupe's cross-check test, from the
published definitions (RMSNorm, rotate-half RoPE with linear/llama3 scaling, repeated kv heads,
SwiGLU); it reads the safetensors file by hand so that it needs only torch.

Hook conventions follow TransformerLens: ln*.hook_normalized is x / rms(x) before the weight,
attn.hook_q/k are before the rotation and have [pos, heads, d_head] (k, v with the kv heads),
attn.hook_pattern is [heads, query, key], mlp.hook_pre is the gate pre-activation.
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


def inverse_frequencies(cfg, head_dim):
    base = cfg.get("rope_theta", 10000.0)
    inv = 1.0 / (base ** (torch.arange(0, head_dim, 2, dtype=torch.int64).float() / head_dim))
    scaling = cfg.get("rope_scaling")
    if not scaling:
        return inv
    kind = scaling.get("rope_type", scaling.get("type"))
    if kind == "linear":
        return inv / scaling["factor"]
    if kind == "dynamic":
        return inv  # only differs beyond max_position_embeddings
    assert kind == "llama3", kind
    factor = scaling["factor"]
    low, high = scaling["low_freq_factor"], scaling["high_freq_factor"]
    old = scaling["original_max_position_embeddings"]
    wavelen = 2 * math.pi / inv
    long_waves = wavelen > old / low
    short_waves = wavelen < old / high
    smooth = (old / wavelen - low) / (high - low)
    medium = (1 - smooth) * inv / factor + smooth * inv
    out = torch.where(long_waves, inv / factor, medium)
    return torch.where(short_waves, inv, out)


def rms_scale(x, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


def forward(cfg, w, ids, hooks):
    kind = cfg["model_type"]
    d = cfg["hidden_size"]
    heads = cfg["num_attention_heads"]
    kv_heads = cfg.get("num_key_value_heads") or heads
    dh = cfg.get("head_dim") or d // heads
    eps = cfg["rms_norm_eps"]
    qkv_bias = kind == "qwen2" or cfg.get("attention_bias", False)
    o_bias = kind == "llama" and cfg.get("attention_bias", False)
    t = len(ids)
    got = {}

    def hook(name, value):
        if name in hooks:
            got[name] = value.clone()

    def linear(x, name, bias):
        assert (name + ".bias" in w) == bias, name + ".bias presence disagrees with config.json"
        y = x @ w[name + ".weight"].T
        return y + w[name + ".bias"] if bias else y

    freqs = torch.outer(torch.arange(t).float(), inverse_frequencies(cfg, dh))
    angles = torch.cat([freqs, freqs], dim=-1)
    cos, sin = angles.cos(), angles.sin()

    def rotate(x):  # [heads, pos, dh]
        first, second = x[..., :dh // 2], x[..., dh // 2:]
        return x * cos + torch.cat([-second, first], dim=-1) * sin

    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    x = w["model.embed_tokens.weight"][torch.tensor(ids)]
    hook("hook_embed", x)
    for layer in range(cfg["num_hidden_layers"]):
        p = "model.layers.%d." % layer
        b = "blocks.%d." % layer
        hook(b + "hook_resid_pre", x)
        n = rms_scale(x, eps)
        hook(b + "ln1.hook_normalized", n)
        a = n * w[p + "input_layernorm.weight"]
        q = linear(a, p + "self_attn.q_proj", qkv_bias).view(t, heads, dh)
        k = linear(a, p + "self_attn.k_proj", qkv_bias).view(t, kv_heads, dh)
        v = linear(a, p + "self_attn.v_proj", qkv_bias).view(t, kv_heads, dh)
        hook(b + "attn.hook_q", q)
        hook(b + "attn.hook_k", k)
        hook(b + "attn.hook_v", v)
        q = rotate(q.transpose(0, 1))
        k = rotate(k.transpose(0, 1)).repeat_interleave(heads // kv_heads, dim=0)
        v = v.transpose(0, 1).repeat_interleave(heads // kv_heads, dim=0)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(dh)
        scores = scores.masked_fill(~causal, float("-inf"))
        hook(b + "attn.hook_attn_scores", scores)
        pattern = scores.softmax(-1)
        hook(b + "attn.hook_pattern", pattern)
        z = (pattern @ v).transpose(0, 1)
        hook(b + "attn.hook_z", z)
        attn_out = linear(z.reshape(t, heads * dh), p + "self_attn.o_proj", o_bias)
        hook(b + "hook_attn_out", attn_out)
        x = x + attn_out
        hook(b + "hook_resid_mid", x)
        n = rms_scale(x, eps)
        hook(b + "ln2.hook_normalized", n)
        a = n * w[p + "post_attention_layernorm.weight"]
        gate = linear(a, p + "mlp.gate_proj", False)
        hook(b + "mlp.hook_pre", gate)
        post = F.silu(gate) * linear(a, p + "mlp.up_proj", False)
        hook(b + "mlp.hook_post", post)
        mlp_out = linear(post, p + "mlp.down_proj", False)
        hook(b + "hook_mlp_out", mlp_out)
        x = x + mlp_out
        hook(b + "hook_resid_post", x)
    n = rms_scale(x, eps)
    hook("ln_final.hook_normalized", n)
    tied = cfg.get("tie_word_embeddings", False)
    head = w["model.embed_tokens.weight"] if tied else w["lm_head.weight"]
    return (n * w["model.norm.weight"]) @ head.T, got


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
            for name in hooks:
                for _, got in runs:
                    out.write(got[name].contiguous().numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
