#!/usr/bin/env python3
"""Independent GPT-2 forward pass and LoRA reference (standard library only, float64 arithmetic).

Writes tiny Hugging Face / PEFT folders under tests/vectors/gpt2_tiny/ and the logits and causal-LM
loss a GPT2LMHeadModel must produce for them:

  base/      config.json + model.safetensors (F32, "transformer." prefix, tied lm_head)
  base_f16/  same architecture stored as F16 without the prefix (the original gpt2 file layout),
             scale_attn_by_inverse_layer_idx = true, an explicit n_inner, a tied lm_head.weight copy
             and the legacy attn.bias buffers, which a loader must ignore
  adapter/   PEFT LoRA adapter (r=2, lora_alpha=3 -> scaling 3/2) on c_attn and both c_proj modules
  expected.json  token ids, logits and loss for base, base_f16, and base + adapter

GPT-2 semantics implemented here (from the GPT-2 paper / Hugging Face GPT2 documentation):
  h = wte[ids] + wpe[pos]; per block: a = LN1(h); qkv = a·Wc_attn + b (Conv1D weights are (in, out));
  heads of size d; scores = q·kᵀ/√d (/(layer+1) if scale_attn_by_inverse_layer_idx), causal mask,
  softmax; h += c_proj(attn·v); m = LN2(h); h += c_proj(gelu_new(c_fc(m))); logits = LN_f(h)·wteᵀ.
  gelu_new(x) = 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))). LayerNorm uses the biased variance.
  loss = mean_t [logsumexp(logits[t]) − logits[t][ids[t+1]]] for t = 0..n-2.
  LoRA (PEFT): lora_A.weight (r, in), lora_B.weight (out, r); output += (alpha/r)·B·(A·x).
Run: python3 tests/vectors/gpt2_forward_reference.py
"""
import json
import math
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "gpt2_tiny")
MASK = (1 << 64) - 1


class Rng:
    """SplitMix64 -> uniform doubles, rounded to a storage format by the caller."""

    def __init__(self, seed):
        self.state = seed

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def sym(self, amp, offset=0.0):
        return offset + (2.0 * ((self.next() >> 11) / float(1 << 53)) - 1.0) * amp


def to_f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


def to_f16(x):
    return struct.unpack("<e", struct.pack("<e", x))[0]


def write_safetensors(path, tensors):
    """tensors: list of (name, dtype, shape, flat values)."""
    header = {"__metadata__": {"format": "pt"}}
    data = b""
    for name, dtype, shape, values in tensors:
        fmt = {"F32": "<f", "F16": "<e"}[dtype]
        blob = b"".join(struct.pack(fmt, v) for v in values)
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(blob)]}
        data += blob
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * ((8 - len(head) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(head)) + head + data)


def reshape(flat, rows, cols):
    return [flat[r * cols:(r + 1) * cols] for r in range(rows)]


def make_weights(cfg, seed, rounder):
    rng = Rng(seed)
    c, inner, v, p = cfg["n_embd"], cfg["n_inner"], cfg["vocab_size"], cfg["n_positions"]
    w = {}
    order = []

    def draw(name, shape, amp, offset=0.0):
        n = 1
        for s in shape:
            n *= s
        w[name] = (shape, [rounder(rng.sym(amp, offset)) for _ in range(n)])
        order.append(name)

    draw("wte.weight", [v, c], 0.3)
    draw("wpe.weight", [p, c], 0.2)
    for l in range(cfg["n_layer"]):
        q = "h.%d." % l
        draw(q + "ln_1.weight", [c], 0.2, 1.0)
        draw(q + "ln_1.bias", [c], 0.1)
        draw(q + "attn.c_attn.weight", [c, 3 * c], 0.4)
        draw(q + "attn.c_attn.bias", [3 * c], 0.1)
        draw(q + "attn.c_proj.weight", [c, c], 0.4)
        draw(q + "attn.c_proj.bias", [c], 0.1)
        draw(q + "ln_2.weight", [c], 0.2, 1.0)
        draw(q + "ln_2.bias", [c], 0.1)
        draw(q + "mlp.c_fc.weight", [c, inner], 0.4)
        draw(q + "mlp.c_fc.bias", [inner], 0.1)
        draw(q + "mlp.c_proj.weight", [inner, c], 0.3)
        draw(q + "mlp.c_proj.bias", [c], 0.1)
    draw("ln_f.weight", [c], 0.2, 1.0)
    draw("ln_f.bias", [c], 0.1)
    return w, order


def layer_norm(x, g, b, eps):
    n = len(x)
    mean = sum(x) / n
    var = sum((xi - mean) ** 2 for xi in x) / n
    inv = 1.0 / math.sqrt(var + eps)
    return [(xi - mean) * inv * gi + bi for xi, gi, bi in zip(x, g, b)]


def conv1d(x, wflat, shape, bias):
    n_in, n_out = shape
    return [sum(x[i] * wflat[i * n_out + j] for i in range(n_in)) + bias[j] for j in range(n_out)]


def gelu_new(x):
    return 0.5 * x * (1.0 + math.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def lora_delta(x, a, b, scaling):
    h = [sum(ai * xi for ai, xi in zip(row, x)) for row in a]
    return [scaling * sum(bj * hj for bj, hj in zip(row, h)) for row in b]


def forward(cfg, w, ids, lora=None):
    c, nh = cfg["n_embd"], cfg["n_head"]
    d = c // nh
    eps = cfg["layer_norm_epsilon"]
    T = len(ids)

    def lin(name, x):
        shape, flat = w[name + ".weight"]
        y = conv1d(x, flat, shape, w[name + ".bias"][1])
        if lora and ("transformer." + name) in lora:
            a, b, s = lora["transformer." + name]
            y = [yi + di for yi, di in zip(y, lora_delta(x, a, b, s))]
        return y

    wte = w["wte.weight"][1]
    wpe = w["wpe.weight"][1]
    h = [[wte[ids[t] * c + k] + wpe[t * c + k] for k in range(c)] for t in range(T)]
    for l in range(cfg["n_layer"]):
        q = "h.%d." % l
        a = [layer_norm(h[t], w[q + "ln_1.weight"][1], w[q + "ln_1.bias"][1], eps) for t in range(T)]
        qkv = [lin(q + "attn.c_attn", a[t]) for t in range(T)]
        out = [[0.0] * c for _ in range(T)]
        scale = 1.0 / math.sqrt(d)
        if cfg.get("scale_attn_by_inverse_layer_idx", False):
            scale /= (l + 1)
        for head in range(nh):
            lo = head * d
            for t in range(T):
                qv = qkv[t][lo:lo + d]
                scores = []
                for s in range(t + 1):
                    kv = qkv[s][c + lo:c + lo + d]
                    scores.append(sum(x * y for x, y in zip(qv, kv)) * scale)
                m = max(scores)
                e = [math.exp(x - m) for x in scores]
                z = sum(e)
                for s in range(t + 1):
                    vv = qkv[s][2 * c + lo:2 * c + lo + d]
                    for k in range(d):
                        out[t][lo + k] += e[s] / z * vv[k]
        proj = [lin(q + "attn.c_proj", out[t]) for t in range(T)]
        h = [[h[t][k] + proj[t][k] for k in range(c)] for t in range(T)]
        m2 = [layer_norm(h[t], w[q + "ln_2.weight"][1], w[q + "ln_2.bias"][1], eps) for t in range(T)]
        fc = [[gelu_new(x) for x in lin(q + "mlp.c_fc", m2[t])] for t in range(T)]
        mp = [lin(q + "mlp.c_proj", fc[t]) for t in range(T)]
        h = [[h[t][k] + mp[t][k] for k in range(c)] for t in range(T)]
    hf = [layer_norm(h[t], w["ln_f.weight"][1], w["ln_f.bias"][1], eps) for t in range(T)]
    V = cfg["vocab_size"]
    logits = [[sum(hf[t][k] * wte[v * c + k] for k in range(c)) for v in range(V)] for t in range(T)]
    losses = []
    for t in range(T - 1):
        m = max(logits[t])
        lse = m + math.log(sum(math.exp(x - m) for x in logits[t]))
        losses.append(lse - logits[t][ids[t + 1]])
    return logits, sum(losses) / len(losses)


def write_config(path, cfg):
    with open(path, "w", encoding="utf-8") as f:
        json.dump(cfg, f, indent=2, sort_keys=True)
        f.write("\n")


def main():
    base_cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "vocab_size": 11, "n_positions": 8,
                "n_embd": 8, "n_layer": 2, "n_head": 2, "n_inner": None, "activation_function": "gelu_new",
                "layer_norm_epsilon": 1e-05, "tie_word_embeddings": True}
    f16_cfg = dict(base_cfg, n_inner=24, scale_attn_by_inverse_layer_idx=True)
    ids = [3, 1, 4, 1, 5, 9, 2]

    os.makedirs(os.path.join(ROOT, "base"), exist_ok=True)
    os.makedirs(os.path.join(ROOT, "base_f16"), exist_ok=True)
    os.makedirs(os.path.join(ROOT, "adapter"), exist_ok=True)

    cfg = dict(base_cfg, n_inner=4 * base_cfg["n_embd"])
    w, order = make_weights(cfg, 20240601, to_f32)
    write_config(os.path.join(ROOT, "base", "config.json"), base_cfg)
    write_safetensors(os.path.join(ROOT, "base", "model.safetensors"),
                      [("transformer." + n, "F32", w[n][0], w[n][1]) for n in order])

    w16, order16 = make_weights(f16_cfg, 777, to_f16)
    write_config(os.path.join(ROOT, "base_f16", "config.json"), f16_cfg)
    extra = [("lm_head.weight", "F16", w16["wte.weight"][0], w16["wte.weight"][1])]
    for l in range(f16_cfg["n_layer"]):
        p = f16_cfg["n_positions"]
        causal = [1.0 if j <= i else 0.0 for i in range(p) for j in range(p)]
        extra.append(("h.%d.attn.bias" % l, "F16", [1, 1, p, p], causal))
    write_safetensors(os.path.join(ROOT, "base_f16", "model.safetensors"),
                      [(n, "F16", w16[n][0], w16[n][1]) for n in order16] + extra)

    # PEFT adapter: r=2, alpha=3 -> scaling 3/2, on c_attn and both c_proj modules of both layers.
    r, alpha = 2, 3
    rng = Rng(99)
    c, inner = cfg["n_embd"], cfg["n_inner"]
    lora, tensors = {}, []
    for l in range(cfg["n_layer"]):
        for mod, n_in, n_out in (("attn.c_attn", c, 3 * c), ("attn.c_proj", c, c), ("mlp.c_proj", inner, c)):
            name = "transformer.h.%d.%s" % (l, mod)
            a = [to_f32(rng.sym(0.5)) for _ in range(r * n_in)]
            b = [to_f32(rng.sym(0.5)) for _ in range(n_out * r)]
            lora[name] = (reshape(a, r, n_in), reshape(b, n_out, r), alpha / r)
            tensors.append(("base_model.model.%s.lora_A.weight" % name, "F32", [r, n_in], a))
            tensors.append(("base_model.model.%s.lora_B.weight" % name, "F32", [n_out, r], b))
    write_safetensors(os.path.join(ROOT, "adapter", "adapter_model.safetensors"), tensors)
    with open(os.path.join(ROOT, "adapter", "adapter_config.json"), "w", encoding="utf-8") as f:
        json.dump({"peft_type": "LORA", "task_type": "CAUSAL_LM", "base_model_name_or_path": "gpt2_tiny/base",
                   "r": r, "lora_alpha": alpha, "lora_dropout": 0.0, "fan_in_fan_out": True, "bias": "none",
                   "target_modules": ["c_attn", "c_proj"], "use_rslora": False, "use_dora": False,
                   "rank_pattern": {}, "alpha_pattern": {}, "modules_to_save": None, "inference_mode": True},
                  f, indent=2, sort_keys=True)
        f.write("\n")

    logits, loss = forward(cfg, w, ids)
    logits16, loss16 = forward(f16_cfg, w16, ids)
    logits_lora, loss_lora = forward(cfg, w, ids, lora)
    with open(os.path.join(ROOT, "expected.json"), "w", encoding="utf-8") as f:
        json.dump({"ids": ids,
                   "base": {"logits": logits, "loss": loss},
                   "base_f16": {"logits": logits16, "loss": loss16},
                   "base_with_adapter": {"logits": logits_lora, "loss": loss_lora}}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
