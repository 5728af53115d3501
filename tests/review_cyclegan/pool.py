"""Answers written by an independent reviewer for the pool check of lecture 11: A lists (name, is_correct, answer)."""
import random
import numpy as np
import torch
from gancourse.models.cyclegan import ImagePool

A = []
def W(c): A.append((c.__name__, False, c)); return c
def C(c): A.append((c.__name__, True, c)); return c

class Base(ImagePool):
    """reference loop with hooks: coin(i), slot(i)"""
    def coin(self, i): return bool(torch.rand(()) < 0.5)
    def slot(self, i): return int(torch.randint(self.size, ()))
    def start(self, fakes): pass
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0:
            return fakes.detach()
        self.start(fakes)
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size:
                self.images[n] = out[i]; self.count += 1
            elif self.coin(i):
                j = self.slot(i)
                old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out

# ---------------- wrong
@W
class p_python_random(Base):
    def coin(self, i): return random.random() < 0.5
@W
class p_python_random_slot(Base):
    def slot(self, i): return random.randrange(self.size)
@W
class p_numpy(Base):
    def coin(self, i): return np.random.rand() < 0.5
@W
class p_private_python_rng(Base):
    def __init__(self, size, shape):
        super().__init__(size, shape); self.rng = random.Random(0)
    def coin(self, i): return self.rng.random() < 0.5
@W
class p_private_torch_gen(Base):
    def __init__(self, size, shape):
        super().__init__(size, shape); self.gen = torch.Generator().manual_seed(0)
    def coin(self, i): return bool(torch.rand((), generator=self.gen) < 0.5)
@W
class p_per_batch_coin(Base):
    def start(self, fakes): self.c = bool(torch.rand(()) < 0.5)
    def coin(self, i): return self.c
@W
class p_per_batch_slot(Base):
    def start(self, fakes): self.j = int(torch.randint(self.size, ())) if self.size else 0
    def slot(self, i): return self.j
@W
class p_round_slot(Base):
    def slot(self, i): return int(torch.round(torch.rand(()) * (self.size - 1)))
@W
class p_randint_size_minus_1(Base):
    def slot(self, i): return int(torch.randint(self.size - 1, ()))
@W
class p_slot_is_batch_pos_mod(Base):
    def slot(self, i): return i % self.size
@W
class p_slot_is_batch_pos(Base):
    def slot(self, i): return i
@W
class p_fifo_buffer(Base):
    def __init__(self, size, shape):
        super().__init__(size, shape); self.register_buffer("ptr", torch.zeros((), dtype=torch.long))
    def slot(self, i):
        j = int(self.ptr); self.ptr.fill_((j + 1) % self.size); return j
@W
class p_fifo_attr(Base):
    ptr = 0
    def slot(self, i):
        j = self.ptr; self.ptr = (j + 1) % self.size; return j
@W
class p_alternate(Base):
    def coin(self, i): return i % 2 == 1
@W
class p_exactly_half(Base):
    def start(self, fakes): self.sw = set(torch.randperm(len(fakes))[: len(fakes) // 2].tolist())
    def coin(self, i): return i in self.sw
@W
class p_prob_03(Base):
    def coin(self, i): return bool(torch.rand(()) < 0.3)
@W
class p_prob_045(Base):
    def coin(self, i): return bool(torch.rand(()) < 0.45)
@W
class p_seed_in_init(Base):
    def __init__(self, size, shape):
        super().__init__(size, shape); torch.manual_seed(0)   # "reproducible"
@W
class p_swap_no_store(ImagePool):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size: self.images[n] = out[i]; self.count += 1
            elif torch.rand(()) < 0.5: out[i] = self.images[int(torch.randint(self.size, ()))]
        return out
@W
class p_store_no_swap(ImagePool):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size: self.images[n] = out[i]; self.count += 1
            elif torch.rand(()) < 0.5: self.images[int(torch.randint(self.size, ()))] = out[i]
        return out
@W
class p_store_then_read(ImagePool):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size: self.images[n] = out[i]; self.count += 1
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); self.images[j] = out[i]; out[i] = self.images[j]
        return out
@W
class p_view_reference(ImagePool):   # keeps a view of the slot, then overwrites it
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        rows = []
        for f in fakes.detach():
            n = int(self.count)
            if n < self.size: self.images[n] = f; self.count += 1; rows.append(f.clone())
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); old = self.images[j]; self.images[j] = f; rows.append(old)
            else: rows.append(f.clone())
        return torch.stack(rows)
@W
class p_fill_le(Base):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n <= self.size - 1 + 1 and n < self.size + 1:
                if n < self.images.shape[0]: self.images[n] = out[i]
                self.count += 1
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out
@W
class p_fill_lt_size_minus_1(Base):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size - 1: self.images[n] = out[i]; self.count += 1
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out
@W
class p_python_list(ImagePool):
    def __init__(self, size, shape):
        super().__init__(size, shape); self.stored = []
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = []
        for f in fakes.detach():
            if len(self.stored) < self.size:
                self.stored.append(f.clone()); self.count += 1; out.append(f.clone())
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); out.append(self.stored[j]); self.stored[j] = f.clone()
            else: out.append(f.clone())
        return torch.stack(out)
@W
class p_list_mirrored(ImagePool):
    def __init__(self, size, shape):
        super().__init__(size, shape); self.stored = []
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = []
        for f in fakes.detach():
            if len(self.stored) < self.size:
                self.stored.append(f.clone()); out.append(f.clone())
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); out.append(self.stored[j]); self.stored[j] = f.clone()
            else: out.append(f.clone())
        self.images[: len(self.stored)] = torch.stack(self.stored); self.count.fill_(len(self.stored))
        return torch.stack(out)
@W
class p_int_count_attr(Base):
    def __init__(self, size, shape):
        super().__init__(size, shape); self.n = 0
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            if self.n < self.size: self.images[self.n] = out[i]; self.n += 1; self.count.fill_(self.n)
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out
@W
class p_view_during_fill(Base):
    @torch.no_grad()
    def forward(self, fakes):
        n, k = int(self.count), len(fakes)
        if self.size and n + k <= self.size:        # fast path while filling
            self.images[n:n + k] = fakes.detach(); self.count += k
            return self.images[n:n + k]
        return super().forward(fakes)
@W
class p_per_batch_fill(Base):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        n = int(self.count)
        if n < self.size:        # still filling: store what fits, pass the whole batch
            k = min(self.size - n, len(fakes))
            self.images[n:n + k] = fakes[:k].detach(); self.count += k
            return fakes.detach().clone()
        return super().forward(fakes)
@W
class p_no_size0(ImagePool):
    @torch.no_grad()
    def forward(self, fakes):
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size: self.images[n] = out[i]; self.count += 1
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out
@W
class p_vector_fill_overflow(Base):
    @torch.no_grad()
    def forward(self, fakes):
        n, k = int(self.count), len(fakes)
        if self.size and n < self.size:
            self.images[n:n + k] = fakes.detach(); self.count += k
            return fakes.detach().clone()
        return super().forward(fakes)
@W
class p_no_clone_mutates_caller(ImagePool):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size: self.images[n] = out[i]; self.count += 1
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out
@W
class p_not_detached(ImagePool):
    def forward(self, fakes):
        if self.size == 0: return fakes.clone()
        out = fakes.clone()
        with torch.no_grad():
            for i in range(len(out)):
                n = int(self.count)
                if n < self.size: self.images[n] = out[i]; self.count += 1
                elif torch.rand(()) < 0.5:
                    j = int(torch.randint(self.size, ())); old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out
@W
class p_stores_graph(ImagePool):
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size: self.images[n] = fakes[i]; self.count += 1
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); old = self.images[j].detach().clone(); self.images[j] = fakes[i]; out[i] = old
        return out
@W
class p_cpu_out(Base):
    @torch.no_grad()
    def forward(self, fakes):
        out = torch.empty(fakes.shape)       # CPU, float32, whatever fakes are
        out.copy_(super().forward(fakes))
        return out
@W
class p_float_out(Base):
    def forward(self, fakes): return super().forward(fakes.float())
@W
class p_detach_inplace_caller(Base):
    @torch.no_grad()
    def forward(self, fakes):
        fakes.detach_()                        # strips the caller's graph
        return super().forward(fakes)
@W
class p_where_duplicates(ImagePool):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        f = fakes.detach().clone(); n = int(self.count); k = min(self.size - n, len(f))
        if k > 0: self.images[n:n + k] = f[:k]; self.count += k
        rest = f[k:]
        if len(rest) == 0: return f
        mask = torch.rand(len(rest)) < 0.5; idx = torch.randint(self.size, (len(rest),))
        m4 = mask.view(-1, *[1] * (f.dim() - 1))
        new_rest = torch.where(m4, self.images[idx], rest)
        self.images[idx[mask]] = rest[mask]
        return torch.cat([f[:k], new_rest])
@W
class p_count_total_seen(Base):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size: self.images[n] = out[i]
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
            self.count += 1
        return out
@W
class p_reused_out_buffer(Base):
    @torch.no_grad()
    def forward(self, fakes):
        r = super().forward(fakes)
        if getattr(self, "_buf", None) is None or self._buf.shape != r.shape: self._buf = torch.empty_like(r)
        self._buf.copy_(r); return self._buf
@W
class p_two_slots(Base):   # returns images[j] but stores the fake in another random slot
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size: self.images[n] = out[i]; self.count += 1
            elif torch.rand(()) < 0.5:
                old = self.images[int(torch.randint(self.size, ()))].clone()
                self.images[int(torch.randint(self.size, ()))] = out[i]; out[i] = old
        return out
@W
class p_randperm_slots(ImagePool):   # distinct slots per batch
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone(); i0 = 0
        while i0 < len(out) and int(self.count) < self.size:
            self.images[int(self.count)] = out[i0]; self.count += 1; i0 += 1
        sw = (torch.rand(len(out) - i0) < 0.5).nonzero().flatten() + i0
        slots = torch.randperm(self.size)[: len(sw)]
        for i, j in zip(sw.tolist(), slots.tolist()):
            old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out
@W
class p_reverse_fill(Base):   # fills slots from the end (gray: behaviour identical)
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach()
        out = fakes.detach().clone()
        for i in range(len(out)):
            n = int(self.count)
            if n < self.size: self.images[self.size - 1 - n] = out[i]; self.count += 1
            elif torch.rand(()) < 0.5:
                j = int(torch.randint(self.size, ())); old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out
@W
class p_slot_among_first_half_fill_count(Base):   # slot drawn from count-1 (off by one)
    def slot(self, i): return int(torch.randint(int(self.count) - 1, ()))
@W
class p_coin_reversed_meaning_and_slot_batch(Base):  # slot from len(fakes)
    def start(self, fakes): self.k = len(fakes)
    def slot(self, i): return int(torch.randint(self.k, ()))

# ---------------- correct
@C
class pc_bernoulli(Base):
    def coin(self, i): return bool(torch.bernoulli(torch.tensor(0.5)))
@C
class pc_upfront(ImagePool):
    @torch.no_grad()
    def forward(self, fakes):
        if self.size == 0: return fakes.detach().clone()
        out = fakes.detach().clone(); n = int(self.count); k = min(self.size - n, len(out))
        self.images[n:n + k] = out[:k]; self.count += k
        coins = torch.rand(len(out)) < 0.5; slots = torch.randint(self.size, (len(out),))
        for i in range(k, len(out)):
            if coins[i]:
                j = int(slots[i]); old = self.images[j].clone(); self.images[j] = out[i]; out[i] = old
        return out
@C
class pc_randn_multinomial(Base):
    def coin(self, i): return bool(torch.randn(()) > 0)
    def slot(self, i): return int(torch.multinomial(torch.ones(self.size), 1))
@C
class pc_floor_slot(Base):
    def coin(self, i): return bool(torch.randint(2, ()) == 1)
    def slot(self, i): return int(torch.rand(()) * self.size)
@C
class pc_reassign_buffers(ImagePool):
    def forward(self, fakes):
        fakes = fakes.detach()
        if self.size == 0: return fakes
        rows = list(fakes.clone().unbind(0))
        for i in range(len(rows)):
            if self.count < self.size:
                c = int(self.count)
                self.images = torch.cat([self.images[:c], rows[i][None], self.images[c + 1:]])
                self.count = self.count + 1
            elif torch.rand(()).item() < 0.5:
                j = torch.randint(self.size, ()).item()
                old = self.images[j].clone()
                self.images = torch.cat([self.images[:j], rows[i][None], self.images[j + 1:]])
                rows[i] = old
        return torch.stack(rows)
@C
class pc_vectorised_chains(ImagePool):
    @torch.no_grad()
    def forward(self, fakes):
        f = fakes.detach().clone()
        if self.size == 0: return f
        n = int(self.count); k = min(self.size - n, len(f))
        self.images.index_copy_(0, torch.arange(n, n + k), f[:k]); self.count += k
        m = len(f) - k
        if m == 0: return f
        swap = torch.rand(m) < 0.5; slot = torch.randint(self.size, (m,))
        out = f.clone(); pos = torch.arange(k, len(f))
        for j in slot[swap].unique().tolist():
            chain = pos[swap & (slot == j)]            # fakes sent to slot j, in order
            out[chain[0]] = self.images[j]
            out[chain[1:]] = f[chain[:-1]]
            self.images[j] = f[chain[-1]]
        return torch.where(torch.ones_like(out, dtype=torch.bool), out, f)
@C
class pc_all_coins_upfront(ImagePool):
    @torch.no_grad()
    def forward(self, fakes):
        coins = torch.randint(2, (len(fakes),)).bool()
        out = fakes.detach().clone()
        if self.size == 0: return out
        for i, c in enumerate(coins.tolist()):
            if self.count < self.size:
                self.images[self.count] = out[i]; self.count.add_(1)
            elif c:
                j = torch.randint(0, self.size, (1,)).item()
                out[i], self.images[j] = self.images[j].clone(), out[i].clone()
        return out
@C
class pc_no_decorator(ImagePool):
    def forward(self, fakes):
        if not self.size: return fakes.detach().clone()
        result = []
        for fake in fakes.detach():
            if self.count.item() < self.size:
                self.images[self.count.item()].copy_(fake); self.count += 1; result.append(fake.clone())
            elif torch.rand(1).item() >= 0.5:
                j = torch.randint(self.size, (1,)).item()
                result.append(self.images[j].clone()); self.images[j].copy_(fake)
            else:
                result.append(fake.clone())
        return torch.stack(result)

