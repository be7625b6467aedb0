"""Character BiLSTM-CRF with SoftLexicon features (Ma et al., ACL 2020), Debian torch 1.13."""

import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence


class Emitter(nn.Module):
    """char ids + SoftLexicon (ids, weights) [+ char bigram ids] -> per-char tag scores (the
    exported network). Without `bigram_emb` the network has no bigram table and ignores
    `bigram_ids`."""

    def __init__(self, char_emb, word_emb, n_tags, hidden=200, dropout=0.5, bigram_emb=None, layers=1,
                 e5_layers=0, e5_dim=384, e5_drop=0.2):
        super().__init__()
        self.char = nn.Embedding.from_pretrained(torch.tensor(char_emb), freeze=False, padding_idx=0)
        self.word = nn.Embedding.from_pretrained(torch.tensor(word_emb), freeze=False, padding_idx=0)
        in_dim = char_emb.shape[1] + 4 * word_emb.shape[1]
        self.bigram = None
        if bigram_emb is not None:
            self.bigram = nn.Embedding.from_pretrained(torch.tensor(bigram_emb), freeze=False, padding_idx=0)
            in_dim += bigram_emb.shape[1]
        self.e5_mix = None
        if e5_layers:  # ELMo-style scalar mix of frozen encoder layers
            self.e5_mix = nn.Parameter(torch.zeros(e5_layers))
            self.e5_gamma = nn.Parameter(torch.ones(1))
            self.e5_drop = nn.Dropout(e5_drop)
            in_dim += e5_dim
        self.drop = nn.Dropout(dropout)
        if layers == 1:
            self.lstm = nn.LSTM(in_dim, hidden, batch_first=True, bidirectional=True)
        else:  # stacked, with dropout between the layers
            self.lstm = nn.LSTM(in_dim, hidden, num_layers=layers, batch_first=True, bidirectional=True,
                                dropout=dropout)
        self.out = nn.Linear(2 * hidden, n_tags)

    def forward(self, char_ids, lex_ids, lex_weights, lengths, bigram_ids=None, e5=None):
        return self.out(self.drop(self.encode(char_ids, lex_ids, lex_weights, lengths, bigram_ids, e5)))

    def encode(self, char_ids, lex_ids, lex_weights, lengths, bigram_ids=None, e5=None):
        """BiLSTM states [B,T,2H] (shared with the auxiliary heads during training)."""
        b, t = char_ids.shape
        c = self.char(char_ids)
        w = self.word(lex_ids)  # [B,T,4,L,D]
        w = (w * lex_weights.unsqueeze(-1)).sum(3)  # [B,T,4,D]
        parts = [c, w.reshape(b, t, -1)]
        if self.bigram is not None:
            parts.append(self.bigram(bigram_ids))
        x = self.drop(torch.cat(parts, dim=-1))
        if self.e5_mix is not None:  # e5 [B,T,L,384] -> [B,T,384]; its own (lighter) dropout
            mix = (torch.softmax(self.e5_mix, 0).view(1, 1, -1, 1) * e5).sum(2) * self.e5_gamma
            x = torch.cat([x, self.e5_drop(mix)], dim=-1)
        packed = pack_padded_sequence(x, lengths.cpu(), batch_first=True, enforce_sorted=False)
        # explicit zero states sized from the input: the exporter would otherwise bake the
        # example batch size into the ONNX LSTM's initial_h / initial_c
        h0 = torch.zeros(2 * self.lstm.num_layers, b, self.lstm.hidden_size, dtype=x.dtype, device=x.device)
        h, _ = self.lstm(packed, (h0, h0))
        h, _ = pad_packed_sequence(h, batch_first=True, total_length=t)
        return h


class CRF(nn.Module):
    def __init__(self, n_tags):
        super().__init__()
        self.start = nn.Parameter(torch.zeros(n_tags))
        self.end = nn.Parameter(torch.zeros(n_tags))
        self.trans = nn.Parameter(torch.zeros(n_tags, n_tags))
        nn.init.uniform_(self.trans, -0.1, 0.1)

    def nll(self, em, tags, mask):
        """Mean negative log-likelihood; em [B,T,K], tags [B,T], mask [B,T] bool."""
        b, t, k = em.shape
        maskf = mask.float()
        # gold path score
        score = self.start[tags[:, 0]] + em[:, 0].gather(1, tags[:, :1]).squeeze(1)
        for i in range(1, t):
            s = self.trans[tags[:, i - 1], tags[:, i]] + em[:, i].gather(1, tags[:, i : i + 1]).squeeze(1)
            score = score + s * maskf[:, i]
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        score = score + self.end[last]
        return (self.log_partition(em, mask) - score).mean()

    def log_partition(self, em, mask):
        """log Z per sentence (forward algorithm); em [B,T,K], mask [B,T] bool."""
        alpha = self.start.unsqueeze(0) + em[:, 0]
        for i in range(1, em.shape[1]):
            nxt = torch.logsumexp(alpha.unsqueeze(2) + self.trans.unsqueeze(0), dim=1) + em[:, i]
            m = mask[:, i].unsqueeze(1)
            alpha = torch.where(m, nxt, alpha)
        return torch.logsumexp(alpha + self.end.unsqueeze(0), dim=1)

    def nll_partial(self, em, allowed, mask):
        """Mean negative log-likelihood of partial labels (Tsuboi et al. 2008; Yang et al.
        2018): -log of the probability mass of every path whose tag at each position is one of
        `allowed` [B,T,K] bool. With one allowed tag per position this equals `nll`."""
        constrained = em.masked_fill(~allowed, -1e4)
        return (self.log_partition(em, mask) - self.log_partition(constrained, mask)).mean()


def load_checkpoint(work, ckpt):
    """(Emitter in eval mode, checkpoint dict) from a train.py best.pt and its prepare.py folder."""
    import os

    import numpy as np

    state = torch.load(ckpt)
    bigram_emb = None
    if state.get("bigrams"):  # the table's shape; the trained values come from the state dict
        bigram_emb = np.zeros(tuple(state["net"]["bigram.weight"].shape), dtype=np.float32)
    net = Emitter(np.load(os.path.join(work, "char_emb.npy")), np.load(os.path.join(work, "word_emb.npy")),
                  len(state["tags"]), hidden=state["hidden"], bigram_emb=bigram_emb, layers=state.get("layers", 1),
                  e5_layers=len(state.get("e5_layers", [])))
    net.load_state_dict(state["net"])
    net.eval()
    return net, state
