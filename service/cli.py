"""The ``atlas`` command line, service part: serve, eval and feedback, added to the indexer's group.

This is the entry point (``atlas``): the layers point one way, so the indexer's commands know nothing of the service.
"""

from __future__ import annotations

from pathlib import Path

import click

from indexer.cli import INDEX_OPTION, main, settings_with
from service.config import Settings


@main.command()
@INDEX_OPTION
@click.option("--host", default=None, help="Adresse (Standard: 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (Standard: 8000).")
def serve(index_dir: Path | None, host: str | None, port: int | None) -> None:
    """Den Suchdienst mit Chatseite starten."""
    import uvicorn

    from indexer.artifact import IndexCorruptError, IndexNotFoundError, load_current
    from service.app import check_manifest, create_app
    from service.errors import IndexMismatchError

    settings = settings_with(Settings, index_dir=index_dir, host=host, port=port).model_copy(update={"load_in_background": True})
    try:
        check_manifest(settings, load_current(settings.index_dir).manifest)
    except (IndexNotFoundError, IndexCorruptError, IndexMismatchError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"Atlas-Lotse startet auf http://{settings.host}:{settings.port} – Modell und Index werden geladen; "
               "/api/ready antwortet 200, sobald der Dienst bereit ist.", err=True)
    from service.http import with_header_timeout
    from service.memory import limit_arenas

    limit_arenas()  # request threads share two malloc arenas instead of growing one each
    # No access log: it would record client IP addresses (personal data) for every request.
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port, log_level="info", access_log=False,
                timeout_keep_alive=settings.timeout_keep_alive, h11_max_incomplete_event_size=16 * 1024,
                http=with_header_timeout(settings.header_timeout))


@main.command(name="eval")
@INDEX_OPTION
@click.option("--queries", "queries_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=Path("tests/eval/queries.yaml"), show_default=True, help="Gelabelte Testfragen (YAML).")
@click.option("--split", type=click.Choice(["dev", "test", "all"]), default="all", show_default=True)
@click.option("--min-ndcg", type=float, default=None, help="Exit-Code 1, wenn nDCG@5 darunter liegt.")
@click.option("--max-false-refusals", type=float, default=None, help="Exit-Code 1, wenn mehr On-topic-Fragen abgelehnt werden.")
@click.option("--min-off-topic-refused", type=float, default=None, help="Exit-Code 1, wenn weniger Off-topic-Fragen abgelehnt werden.")
@click.option("--conversations", "conversations_file", type=click.Path(path_type=Path, exists=True, dir_okay=False),
              default=None, help="Stattdessen Gespräche bewerten (z. B. tests/eval/conversations.yaml): "
              "Anteil richtig verstandener Züge und Gespräche, die den Faden halten.")
def eval_(index_dir: Path | None, queries_file: Path, split: str, min_ndcg: float | None,
          max_false_refusals: float | None, min_off_topic_refused: float | None, conversations_file: Path | None) -> None:
    """Suchqualität messen: nDCG@5, Recall@5, MRR@10 je Fragenart und Raumtyp, Ablehnungsquoten."""
    from indexer.evalset import load_queries
    from service.app import load_searcher, load_state
    from service.evaluation import format_report, run, summarise

    settings = settings_with(Settings, index_dir=index_dir)
    if conversations_file:
        from service.dialogues import format_dialogue_report, load_dialogues, run_dialogues

        conversation = load_state(settings)["live"].current().conversation
        for name in (["dev", "test"] if split == "all" else [split]):
            outcome = run_dialogues(conversation, load_dialogues(conversations_file, name))
            click.echo(format_dialogue_report(outcome, f"== {name} ({conversations_file}) ==") + "\n")
        return
    searcher = load_searcher(settings)
    splits = ["dev", "test"] if split == "all" else [split]
    failed = []
    for name in splits:
        report = summarise(run(searcher, load_queries(queries_file, name)))
        click.echo(format_report(report, f"== {name} ({queries_file}) ==") + "\n")
        if min_ndcg is not None and report.overall.ndcg5 < min_ndcg:
            failed.append(f"{name}: nDCG@5 {report.overall.ndcg5:.3f} < {min_ndcg}")
        if max_false_refusals is not None and report.false_refusals > max_false_refusals:
            failed.append(f"{name}: false refusals {report.false_refusals:.1%} > {max_false_refusals:.1%}")
        if min_off_topic_refused is not None and report.off_topic_refused < min_off_topic_refused:
            failed.append(f"{name}: off-topic refused {report.off_topic_refused:.1%} < {min_off_topic_refused:.1%}")
    if failed:
        raise click.ClickException("Qualitätsuntergrenze verfehlt: " + "; ".join(failed))


@main.group()
def feedback() -> None:
    """Rückmeldungen zu Antworten (hilfreich / nicht hilfreich) auswerten."""


@feedback.command(name="export")
@click.option("--db", "db_path", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="SQLite-Datei (Standard: ATLAS_DATABASE_URL, sonst ATLAS_FEEDBACK_DB oder ./var/feedback.sqlite3).")
@click.option("--output", "-o", type=click.Path(path_type=Path, dir_okay=False), default=None,
              help="Zieldatei (Standard: Standardausgabe).")
def feedback_export(db_path: Path | None, output: Path | None) -> None:
    """Alle Rückmeldungen als CSV ausgeben (Zeitpunkt, Frage, Lösungen, Indexstand, Bewertung, Kommentar)."""
    from service.feedback import FeedbackStore, FeedbackStoreError, database_url, feedback_csv

    settings = settings_with(Settings, feedback_db=db_path)
    store = FeedbackStore(database_url(None, db_path) if db_path else settings.feedback_store_url())
    if store.file and not store.file.exists():
        click.echo(f"Noch keine Rückmeldungen: {store.file} gibt es nicht.", err=True)
    try:
        rows = store.rows()
    except FeedbackStoreError as exc:
        raise click.ClickException(f"Die Rückmeldungen konnten nicht gelesen werden: {store!r} ist nicht erreichbar.") from exc
    finally:
        store.close()
    text = feedback_csv(rows)
    if output:
        output.write_text(text, encoding="utf-8")
        click.echo(f"{len(rows)} Rückmeldungen nach {output} exportiert.", err=True)
    else:
        click.echo(text, nl=False)


if __name__ == "__main__":
    main()
