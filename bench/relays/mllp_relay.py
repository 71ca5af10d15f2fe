"""Raw S4 relay: asyncio MLLP server -> HL7 v2 to JSON -> aio-pika publish (confirms) -> ACK.

The hand-written peer of bench/flows/s4.flow: the same work with no engine. It uses the
same HL7 codec as Flowengine (flowengine.formats.hl7, as a library) so the comparison
measures the engine, not the parser. Each message is published persistent and mandatory
to queue bench.hl7 with publisher confirms; the sender gets AA only after the confirm,
AE for a message that is not HL7, AR when the publish failed. Broker from
BENCH_AMQP_URL. SIGTERM closes and exits 0.
"""

import asyncio
import os
import signal

import aio_pika
import orjson

from flowengine.formats import FormatError, hl7

URL = os.environ.get("BENCH_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
PORT = int(os.environ.get("BENCH_MLLP_PORT", "12575"))
QUEUE = "bench.hl7"
START, END = b"\x0b", b"\x1c\r"


async def answer(exchange: aio_pika.abc.AbstractExchange, payload: bytes) -> bytes:
    try:
        parsed = hl7.parse(payload)
    except FormatError as err:
        return hl7.build_ack(None, "AE", str(err)).to_bytes()
    body = orjson.dumps(hl7.to_json(parsed))
    try:
        await exchange.publish(
            aio_pika.Message(body, content_type="application/hl7-v2+json",
                             delivery_mode=aio_pika.DeliveryMode.PERSISTENT),
            routing_key=QUEUE, mandatory=True)
    except Exception as err:
        return hl7.build_ack(parsed, "AR", str(err)).to_bytes()
    return hl7.build_ack(parsed, "AA").to_bytes()


async def main() -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    conn = await aio_pika.connect(URL)
    channel = await conn.channel(publisher_confirms=True, on_return_raises=True)
    await channel.declare_queue(QUEUE, durable=True)
    exchange = channel.default_exchange

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.readuntil(END)
                ack = await answer(exchange, data[data.find(START) + 1 : -len(END)])
                writer.write(START + ack + END)
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", PORT)
    await stop.wait()
    server.close()
    await conn.close()


if __name__ == "__main__":
    asyncio.run(main())
