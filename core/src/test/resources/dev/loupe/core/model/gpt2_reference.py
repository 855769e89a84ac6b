"""GPT-2 logits from a Hugging Face-style directory (config.json + model.safetensors), in PyTorch.

Usage: python3 gpt2_reference.py MODEL_DIR TOKENS_JSON OUT_FILE
Writes the logits of every sequence in TOKENS_JSON (a list of lists of ids), concatenated as
little-endian float32 [len_i, vocab] blocks. Written for Loupe's cross-check test: it reads the
safetensors file by hand so that it needs only torch.
"""
import json
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


def forward(cfg, w, ids):
    eps = cfg["layer_norm_epsilon"]
    d = cfg["n_embd"]
    h = cfg["n_head"]
    dh = d // h
    t = len(ids)
    x = w["wte.weight"][torch.tensor(ids)] + w["wpe.weight"][:t]
    causal = torch.tril(torch.ones(t, t, dtype=torch.bool))
    for layer in range(cfg["n_layer"]):
        p = "h.%d." % layer
        a = F.layer_norm(x, (d,), w[p + "ln_1.weight"], w[p + "ln_1.bias"], eps)
        qkv = a @ w[p + "attn.c_attn.weight"] + w[p + "attn.c_attn.bias"]
        q, k, v = qkv.split(d, dim=-1)
        q = q.view(t, h, dh).transpose(0, 1)
        k = k.view(t, h, dh).transpose(0, 1)
        v = v.view(t, h, dh).transpose(0, 1)
        scores = (q @ k.transpose(-1, -2)) / (dh ** 0.5)
        scores = scores.masked_fill(~causal, float("-inf"))
        z = (scores.softmax(-1) @ v).transpose(0, 1).reshape(t, d)
        x = x + z @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        m = F.layer_norm(x, (d,), w[p + "ln_2.weight"], w[p + "ln_2.bias"], eps)
        m = F.gelu(m @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"], approximate="tanh")
        x = x + m @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (d,), w["ln_f.weight"], w["ln_f.bias"], eps)
    return x @ w["wte.weight"].T


def main():
    model_dir, tokens_json, out_file = sys.argv[1:4]
    torch.set_num_threads(2)
    with open(model_dir + "/config.json") as f:
        cfg = json.load(f)
    w = load_safetensors(model_dir + "/model.safetensors")
    with open(tokens_json) as f:
        batch = json.load(f)
    with open(out_file, "wb") as out, torch.no_grad():
        for ids in batch:
            out.write(forward(cfg, w, ids).contiguous().numpy().astype("<f4").tobytes())


if __name__ == "__main__":
    main()
