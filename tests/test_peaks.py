"""Peaks from BED + genome (issue 17): windows against hand-computed ones, refusals, genome coordinates."""

import numpy as np
import pytest

from interpret import io, regions
from interpret.cli import main

COMPLEMENT = str.maketrans("ACGTN", "TGCAN")
ROWS = {"A": [1, 0, 0, 0], "C": [0, 1, 0, 0], "G": [0, 0, 1, 0], "T": [0, 0, 0, 1], "N": [0, 0, 0, 0]}


def _revcomp(s: str) -> str:
    return s.upper().translate(COMPLEMENT)[::-1]


def _encode(s: str) -> np.ndarray:
    """Independent one-hot: a dict lookup per letter (the package uses a byte table)."""
    return np.array([ROWS[c] for c in s.upper()], np.float32)


@pytest.fixture(scope="module")
def genome(tmp_path_factory):
    """chr1 (300 bp; soft-masked at 20-40, N at 40-45) and chr2 (250 bp), 60 bp per FASTA line."""
    rng = np.random.default_rng(0)
    chroms = {c: "".join(rng.choice(list("ACGT"), n)) for c, n in (("chr1", 300), ("chr2", 250))}
    c1 = chroms["chr1"]
    chroms["chr1"] = c1[:20] + c1[20:40].lower() + "NNNNN" + c1[45:]
    d = tmp_path_factory.mktemp("genome")
    text = "".join(f">{c} assembled\n" + "".join(s[i:i + 60] + "\n" for i in range(0, len(s), 60))
                   for c, s in chroms.items())
    (d / "genome.fa").write_text(text)
    return d / "genome.fa", chroms


def _write(tmp_path, lines, name="peaks.bed"):
    path = tmp_path / name
    path.write_text("".join(line + "\n" for line in lines))
    return path


def test_windows_match_hand_computed_ones_on_both_strands_and_at_chromosome_ends(genome, tmp_path):
    fa, chroms = genome
    bed = _write(tmp_path, [
        "track name=peaks",
        "chr1\t0\t101\tstart_plus\t7\t+",          # midpoint 50: window 0-101 from the first base (masked, N)
        "chr1\t199\t300\tend_minus\t3\t-",         # midpoint 249: window 199-300 to the last base, reverse
        "chr2\t100\t180\tsummit_minus\t1\t-\t5.0\t-1\t-1\t30",  # summit 100 + 30: window 80-181, reverse
        "chr2\t60\t70\t.\t0\t.\t5.0\t-1\t-1\t-1",  # summit -1 = none, midpoint 65: window 15-116 forward
        "chr1 120 130",                            # BED3, spaces: midpoint 125, window 75-176 forward
    ], name="peaks.narrowPeak")
    seqs = io.load_sequences(bed, genome=fa, seq_len=101)
    want = [("chr1", 0, 101, "+"), ("chr1", 199, 300, "-"), ("chr2", 80, 181, "-"),
            ("chr2", 15, 116, "+"), ("chr1", 75, 176, "+")]
    r = seqs.regions
    assert list(zip(r.chrom, r.start.tolist(), r.end.tolist(), r.strand)) == want
    assert list(r.centred_on) == ["midpoint", "midpoint", "summit", "midpoint", "midpoint"]
    assert seqs.names[:3] == ["start_plus", "end_minus", "summit_minus"] and seqs.names[3] == "chr2:60-70"
    for row, (chrom, start, end, strand) in enumerate(want):
        text = chroms[chrom][start:end]
        np.testing.assert_array_equal(seqs.x[row], _encode(_revcomp(text) if strand == "-" else text))
    # soft-masked bases read as upper case, N as an all-zero row
    assert seqs.x[0, 20:40].sum() == 20 and seqs.x[0, 40:45].sum() == 0 and seqs.x[0, 45:].sum() == 56
    assert seqs.source_layout == "BED + genome" and seqs.x.dtype == np.float32 and seqs.y is None
    assert (fa.parent / "genome.fa.fai").exists()  # the index is built beside the genome and reused


def test_labels_come_from_the_chosen_column(genome, tmp_path):
    fa, _ = genome
    bed = _write(tmp_path, ["chr1\t100\t110\ta\t1", "chr2\t100\t110\tb\t0", "chr2\t120\t130\tc\t1"])
    seqs = io.load_sequences(bed, genome=fa, seq_len=51, label_column=5)
    np.testing.assert_array_equal(seqs.y, [1, 0, 1])
    assert io.load_sequences(bed, genome=fa, seq_len=51).y is None


@pytest.mark.parametrize("lines, message", [
    (["chr1\t100\t110", "chr1\t0\t99"], "line 2: the 101-bp window chr1:-1-100"),       # one base before the start
    (["track x", "chr1\t201\t299"], "line 2: the 101-bp window chr1:200-301"),       # one base past the end
    (["chr1\t100\t110", "chr1\t120\t130", "chrX\t1\t5"], "line 3: chromosome 'chrX' is not in the genome"),
    (["chr1\t100"], "line 1: 2 column(s)"),
    (["chrom\tstart\tend", "chr1\t100\t110"], "line 1: start and end ('start', 'end') are not integers; a header"),
    (["chr1\t110\t100"], "line 1: start 110 and end 100"),
    (["chr1\t100\t110\tp\t0\t*"], "strand '*'"),
    (["chr1\t100\t110\tp\t0\t+\t1\t1\t1\t20"], "summit offset 20"),
])
def test_off_chromosome_and_malformed_peaks_are_refused_naming_the_line(genome, tmp_path, lines, message):
    fa, _ = genome
    with pytest.raises(io.InputError, match="peaks.bed") as err:
        io.load_sequences(_write(tmp_path, lines), genome=fa, seq_len=101)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_width_and_genome_errors_are_one_line(genome, tmp_path):
    fa, _ = genome
    bed = _write(tmp_path, ["chr1\t100\t110"])
    for kwargs, message in [({"genome": fa, "width": 150}, "--width 150 but the model takes 101 bp"),
                            ({}, "--genome"),
                            ({"genome": tmp_path / "none.fa"}, "does not exist")]:
        with pytest.raises(io.InputError, match=message):
            io.load_sequences(bed, seq_len=101, **kwargs)
    np.save(tmp_path / "x.npy", np.eye(4, dtype=np.float32)[np.zeros((2, 101), int)])
    with pytest.raises(io.InputError, match="go with BED input"):
        io.load_sequences(tmp_path / "x.npy", genome=fa)


def test_genome_coordinates_read_the_seqlet_on_both_strands(genome, tmp_path):
    """Every span of every window, on either strand, maps to the genome text it reads."""
    fa, chroms = genome
    bed = _write(tmp_path, ["chr1\t100\t130\tp\t0\t+", "chr1\t150\t160\tm\t0\t-", "chr2\t0\t101\tn\t0\t-"])
    seqs = io.load_sequences(bed, genome=fa, seq_len=61)
    text = io.decode(seqs.x)
    rng = np.random.default_rng(1)
    idx = rng.integers(0, 3, 200)
    start = rng.integers(0, 50, 200)
    end = start + rng.integers(1, 12, 200)
    strand = rng.choice(["+", "-"], 200)
    g = regions.to_genome(seqs.regions, idx, start, end, strand)
    for i, s, e, st, c, cs, ce, cst in zip(idx, start, end, strand, *(g[k] for k in regions.GENOME_COLUMNS)):
        seen = text[i][s:e] if st == "+" else _revcomp(text[i][s:e])
        on_genome = chroms[c][cs:ce].upper()
        assert (on_genome if cst == "+" else _revcomp(on_genome)) == seen


@pytest.fixture(scope="module")
def bed_run(tmp_path_factory, example_model, example_sim):
    """The example's first 200 positives laid out as a genome (every other one reverse-complemented,
    with a minus-strand peak on it), explained from BED + genome."""
    d = tmp_path_factory.mktemp("bedrun")
    rows = np.flatnonzero(example_sim.y == 1)[:200]
    text = io.decode(example_sim.x[rows])
    chroms, bed = {}, []
    for k, s in enumerate(text):
        chrom, minus = f"chr{k % 3 + 1}", k % 2 == 1
        offset = len(chroms.get(chrom, "")) + 40
        chroms[chrom] = chroms.get(chrom, "") + "ACGT" * 10 + (_revcomp(s) if minus else s)
        bed.append(f"{chrom}\t{offset}\t{offset + 101}\tpeak{k}\t1\t{'-' if minus else '+'}")
    (d / "genome.fa").write_text("".join(f">{c}\n{s}\n" for c, s in chroms.items()))
    (d / "peaks.bed").write_text("\n".join(bed) + "\n")
    example_model.keras_model.save(d / "model.keras")
    assert main(["run", str(d / "model.keras"), str(d / "peaks.bed"), "--genome", str(d / "genome.fa"),
                 "--out", str(d / "bed"), "--methods", "gradxinput", "--motifs-from", "gradxinput",
                 "--modisco-leiden-runs", "2", "--quiet"]) == 0
    return d, chroms, example_sim.x[rows]


def test_bed_run_explains_the_windows_and_places_seqlets_on_the_genome(bed_run):
    d, chroms, x_planted = bed_run
    x = io.read_attributions(d / "bed" / "attributions.h5")["x"]
    np.testing.assert_array_equal(x, x_planted)  # minus-strand peaks read back the sequence as planted
    bed_rows = io.read_tsv(d / "bed" / "seqlets.tsv")
    assert len(bed_rows) > 20
    assert list(bed_rows[0]) == ["seq_index", "start", "end", "strand", "motif", "method", "contribution",
                                 *regions.GENOME_COLUMNS]
    for r in bed_rows:
        seq = io.decode(x[int(r["seq_index"])][None])[0][int(r["start"]):int(r["end"])]
        seen = seq if r["strand"] == "+" else _revcomp(seq)
        g = chroms[r["chrom"]][int(r["chrom_start"]):int(r["chrom_end"])]
        assert (g if r["chrom_strand"] == "+" else _revcomp(g)) == seen
    # half the peaks are on the minus strand, so seqlets land on both genome strands
    assert {r["chrom_strand"] for r in bed_rows} == {"+", "-"}
    s = io.read_json(d / "bed" / "summary.json")
    assert s["data"]["source_layout"] == "BED + genome" and s["data"]["minus_strand"] == 100
    assert s["data"]["centred_on_midpoint"] == 200 and s["data"]["genome"].endswith("genome.fa")


def test_seqlets_bed_is_sorted_bed6_of_every_seqlet(bed_run):
    d = bed_run[0]
    tsv = io.read_tsv(d / "bed" / "seqlets.tsv")
    lines = [l.split("\t") for l in (d / "bed" / "seqlets.bed").read_text().splitlines()]
    assert len(lines) == len(tsv) and all(len(f) == 6 for f in lines)
    keys = [(f[0], int(f[1]), int(f[2])) for f in lines]
    assert keys == sorted(keys)
    assert sorted((f[0], int(f[1]), int(f[2]), f[3], f[5]) for f in lines) == sorted(
        (r["chrom"], int(r["chrom_start"]), int(r["chrom_end"]), r["motif"], r["chrom_strand"]) for r in tsv)
    scores = np.array([int(f[4]) for f in lines])
    assert scores.max() == 1000 and scores.min() >= 0


def test_hits_bed_places_every_hit_on_the_genome_text_it_reads(bed_run):
    d, chroms, _ = bed_run
    x = io.read_attributions(d / "bed" / "attributions.h5")["x"]
    rows = io.read_tsv(d / "bed" / "hits.tsv")
    assert len(rows) > 20 and list(rows[0])[-4:] == list(regions.GENOME_COLUMNS)
    for r in rows:
        seq = io.decode(x[int(r["seq_index"])][None])[0][int(r["start"]):int(r["end"])]
        seen = seq if r["strand"] == "+" else _revcomp(seq)
        g = chroms[r["chrom"]][int(r["chrom_start"]):int(r["chrom_end"])]
        assert (g if r["chrom_strand"] == "+" else _revcomp(g)) == seen
    lines = [line.split("\t") for line in (d / "bed" / "hits.bed").read_text().splitlines()]
    keys = [(f[0], int(f[1]), int(f[2])) for f in lines]
    assert len(lines) == len(rows) and keys == sorted(keys) and {f[5] for f in lines} == {"+", "-"}


def test_one_hot_encoding_names_the_first_sequence_with_non_dna_characters():
    np.testing.assert_array_equal(io.one_hot_encode(["ACGTN", "acgtr"]), np.stack([_encode("ACGTN"), _encode("ACGTN")]))
    for seqs, message in [(["ACGTA", "AC-TA", "ACGT*"], "sequence 1 has characters '-'"),
                          (["ACGTA", "ACGTé"], "sequence 1 has characters 'é'")]:
        with pytest.raises(io.InputError, match=message):
            io.one_hot_encode(seqs, "s.fa")


def test_attribute_command_reads_peaks_too(bed_run):
    d, _, x_planted = bed_run
    out = d / "attr.h5"
    assert main(["attribute", str(d / "model.keras"), str(d / "peaks.bed"), "--genome", str(d / "genome.fa"),
                 "--methods", "gradxinput", "--out", str(out), "--quiet"]) == 0
    a = io.read_attributions(out)
    np.testing.assert_array_equal(a["x"], x_planted)
    np.testing.assert_array_equal(a["index"], np.arange(200))
    run = io.read_attributions(d / "bed" / "attributions.h5")
    np.testing.assert_allclose(a["gradxinput"]["contrib"], run["gradxinput"]["contrib"], atol=1e-6)
