"""Commands that arrive over NATS (OCR results), answered with a CommandReply."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any
from uuid import UUID

import anyio
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from pydantic import BaseModel, ValidationError

from command_api.application import Paperledger, Written
from command_api.errors import CommandError, NotFoundError
from infra.auth import TokenCache
from schemas.commands import CommandReply, CompleteOcr, FailOcr
from schemas.events import EventEnvelope
from schemas.subjects import (
    COMMAND_QUEUE_GROUP,
    COMPLETE_OCR,
    FAIL_OCR,
    event_subject,
)

logger = logging.getLogger(__name__)


def _complete(ledger: Paperledger, command: CompleteOcr) -> Written:
    return ledger.complete_ocr(
        command.document_id,
        pdf_sha256=command.pdf_sha256,
        archive_sha256=command.archive_sha256,
        lang=command.lang,
        pages=[page.model_dump() for page in command.pages],
        seconds=command.seconds,
    )


def _fail(ledger: Paperledger, command: FailOcr) -> Written:
    return ledger.fail_ocr(command.document_id, command.pdf_sha256, command.reason)


async def _handle(
    msg: Msg,
    model: type[BaseModel],
    apply: Callable[[Any], Written],
) -> CommandReply:
    try:
        command = model.model_validate_json(msg.data)
    except ValidationError as e:
        logger.error("rejected malformed command on %s: %s", msg.subject, e)
        return CommandReply(
            ok=False, error=f"malformed command: {e.error_count()} errors"
        )
    document_id = getattr(command, "document_id", None)
    try:
        written = await anyio.to_thread.run_sync(apply, command)
    except NotFoundError:
        logger.warning(
            "command on %s names unknown document %s", msg.subject, document_id
        )
        return CommandReply(ok=False, error="no document with that id")
    except CommandError as e:
        logger.warning(
            "command on %s for document %s refused: %s", msg.subject, document_id, e
        )
        return CommandReply(ok=False, error=str(e))
    logger.info(
        "%s recorded for document %s at position %s",
        msg.subject,
        document_id,
        written.position,
    )
    return CommandReply(ok=True, position=written.position)


async def serve_commands(client: Client, ledger: Paperledger) -> list[Subscription]:
    """Answers OCR results sent as commands; returns the subscriptions to drain."""

    def responder(model: type[BaseModel], apply: Callable[[Any], Written]) -> Any:
        async def respond(msg: Msg) -> None:
            reply = await _handle(msg, model, apply)
            if msg.reply:
                await msg.respond(reply.model_dump_json().encode())

        return respond

    return [
        await client.subscribe(
            COMPLETE_OCR,
            queue=COMMAND_QUEUE_GROUP,
            cb=responder(CompleteOcr, lambda c: _complete(ledger, c)),
        ),
        await client.subscribe(
            FAIL_OCR,
            queue=COMMAND_QUEUE_GROUP,
            cb=responder(FailOcr, lambda c: _fail(ledger, c)),
        ),
    ]


async def follow_revocations(client: Client, tokens: TokenCache) -> Subscription:
    """Refuses a revoked token as soon as its event is published."""

    async def revoked(msg: Msg) -> None:
        try:
            envelope = EventEnvelope.model_validate_json(msg.data)
            token_id = UUID(str(envelope.data["token_id"]))
        except (ValidationError, KeyError, ValueError):
            logger.error("unreadable event on %s", msg.subject)
            return
        tokens.revoke(token_id)
        logger.info("token %s revoked at position %s", token_id, envelope.position)

    return await client.subscribe(event_subject("User.TokenRevoked"), cb=revoked)
