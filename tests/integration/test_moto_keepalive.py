"""The local stack's moto keeps its HTTPS connections alive (local_stack.moto_serving): botocore's
pools send every call of a client on one connection, a request body moto leaves unread never
turns into the next request, and the connection still closes when it should."""

from __future__ import annotations

import http.client
import io
import json
import logging
import socket
import ssl
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local_stack.aws_emulator import AwsEmulator
from local_stack.moto_serving import MARKER

SMUGGLED = b"GET /moto-api/smuggled HTTP/1.1\r\nHost: moto\r\nContent-Length: 0\r\n\r\n"
# moto checks no signature; the credential names the account and the service.
SIGNED_FOR = (
    "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/{}/aws4_request, SignedHeaders=host, Signature=0"
)
BUCKET = "keepalive-bucket"


@pytest.fixture(scope="module")
def aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AwsEmulator]:
    log = tmp_path_factory.mktemp("moto") / "moto.log"
    with AwsEmulator(log_path=log) as emulator:
        emulator.client("s3").create_bucket(Bucket=BUCKET)
        assert MARKER in log.read_text()
        yield emulator


def _tls(aws: AwsEmulator) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=aws.ca_bundle)


def _connection(aws: AwsEmulator) -> http.client.HTTPSConnection:
    return http.client.HTTPSConnection(aws.host, aws.port, context=_tls(aws), timeout=10)


def _raw_socket(aws: AwsEmulator) -> ssl.SSLSocket:
    plain = socket.create_connection((aws.host, aws.port), timeout=10)
    return _tls(aws).wrap_socket(plain, server_hostname=aws.host)


def _read_until_closed(connection: ssl.SSLSocket) -> bytes:
    received = b""
    while chunk := connection.recv(65536):  # TimeoutError if the server keeps the connection
        received += chunk
    return received


def _retries(answer: dict[str, object]) -> object:
    return answer["ResponseMetadata"]["RetryAttempts"]  # type: ignore[index]


def test_botocore_sends_every_call_of_a_client_on_one_connection(
    aws: AwsEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    caplog.set_level(logging.DEBUG, logger="botocore.awsrequest")
    dynamodb, sqs, s3 = aws.client("dynamodb"), aws.client("sqs"), aws.client("s3")
    answers = [
        dynamodb.create_table(
            TableName="keepalive",
            KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
    ]
    queue_answer = sqs.create_queue(QueueName="keepalive")
    answers.append(queue_answer)
    large = bytes(range(256)) * 4096  # 1 MiB, sent after the server's 100 Continue
    for number in range(5):
        item = {"pk": {"S": f"item-{number}"}}
        answers.append(dynamodb.put_item(TableName="keepalive", Item=item))
        got = dynamodb.get_item(TableName="keepalive", Key=item)
        assert got["Item"] == item
        answers.append(got)
        answers.append(sqs.send_message(QueueUrl=queue_answer["QueueUrl"], MessageBody=f"message {number}"))
        answers.append(s3.put_object(Bucket=BUCKET, Key=f"small-{number}", Body=b"small %d" % number))
        answers.append(s3.put_object(Bucket=BUCKET, Key=f"large-{number}", Body=io.BytesIO(large)))
        stored = s3.get_object(Bucket=BUCKET, Key=f"large-{number}")
        assert stored["Body"].read() == large
        answers.append(stored)
    received = sqs.receive_message(QueueUrl=queue_answer["QueueUrl"], MaxNumberOfMessages=10)
    assert len(received["Messages"]) >= 1
    answers.append(received)

    messages = [record.getMessage() for record in caplog.records]
    assert len(answers) == 33
    assert [_retries(answer) for answer in answers] == [0] * len(answers)
    assert len([text for text in messages if text.startswith("Starting new HTTPS connection")]) == 3
    assert not [text for text in messages if text.startswith("Resetting dropped connection")]
    # botocore sends every PutObject body after the server's 100 Continue
    assert len([text for text in messages if text.startswith("100 Continue response seen")]) == 10


def test_a_call_on_a_kept_connection_is_not_held_back_by_nagles_algorithm(aws: AwsEmulator) -> None:
    """A response's body waiting for the client's delayed acknowledgement of its headers takes
    ~40 ms per call; moto answers a ListTables in a few."""
    dynamodb = aws.client("dynamodb")
    dynamodb.list_tables()  # the connection is open
    durations = []
    for _ in range(21):
        started = time.perf_counter()
        dynamodb.list_tables()
        durations.append(time.perf_counter() - started)
    assert statistics.median(durations) < 0.030


def test_a_body_moto_leaves_unread_is_not_read_as_the_next_request(aws: AwsEmulator) -> None:
    connection = _connection(aws)
    connection.request("POST", "/moto-api/no-such-page", body=SMUGGLED)
    first = connection.getresponse()
    first.read()
    assert first.status == 404
    kept = connection.sock
    connection.request("GET", "/moto-api/data.json")
    second = connection.getresponse()
    assert second.status == 200
    assert "s3" in json.loads(second.read())
    assert connection.sock is kept is not None
    connection.close()


def test_a_chunked_body_then_more_requests_on_the_same_connection(aws: AwsEmulator) -> None:
    content = [b"first chunk, ", b"second chunk, ", b"last chunk"]
    connection = _connection(aws)
    signed = {"Authorization": SIGNED_FOR.format("s3")}
    connection.request("PUT", f"/{BUCKET}/chunked", body=iter(content), headers=signed, encode_chunked=True)
    stored = connection.getresponse()
    stored.read()
    assert stored.status == 200
    kept = connection.sock
    connection.request("POST", "/moto-api/no-such-page", body=iter([SMUGGLED]), encode_chunked=True)
    ignored = connection.getresponse()
    ignored.read()
    assert ignored.status == 404
    connection.request("GET", f"/{BUCKET}/chunked", headers=signed)
    read_back = connection.getresponse()
    assert (read_back.status, read_back.read()) == (200, b"".join(content))
    assert connection.sock is kept is not None
    connection.close()


@pytest.mark.parametrize(
    "request_bytes",
    [
        pytest.param(b"GET /moto-api/data.json HTTP/1.0\r\nHost: moto\r\n\r\n", id="HTTP/1.0"),
        pytest.param(
            b"GET /moto-api/data.json HTTP/1.1\r\nHost: moto\r\nConnection: close\r\n\r\n",
            id="Connection: close",
        ),
    ],
)
def test_the_connection_closes_after_an_http_1_0_or_connection_close_request(
    aws: AwsEmulator, request_bytes: bytes
) -> None:
    with _raw_socket(aws) as connection:
        connection.sendall(request_bytes)
        answer = _read_until_closed(connection)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith((b"HTTP/1.0 200", b"HTTP/1.1 200"))
    assert b"\r\nConnection: close" in head
    assert "s3" in json.loads(body)


def test_an_http_1_1_connection_stays_open_after_the_response(aws: AwsEmulator) -> None:
    """The other side of the test above: the same reading would time out on a kept connection."""
    with _raw_socket(aws) as connection:
        connection.sendall(b"GET /moto-api/data.json HTTP/1.1\r\nHost: moto\r\n\r\n")
        connection.settimeout(1)
        with pytest.raises(TimeoutError):
            _read_until_closed(connection)


def test_a_request_moto_fails_on_gets_a_500_and_a_closed_connection(aws: AwsEmulator) -> None:
    connection = _connection(aws)
    headers = {"X-Amz-Target": "DynamoDB_20120810.PutItem", "Authorization": SIGNED_FOR.format("dynamodb")}
    connection.request("POST", "/", body=b"{}", headers=headers)  # no TableName: moto raises
    failed = connection.getresponse()
    failed.read()
    assert (failed.status, failed.getheader("Connection")) == (500, "close")
    assert connection.sock is None  # http.client closes what the server said it closes
    connection.request("GET", "/moto-api/data.json")  # on a new connection
    assert connection.getresponse().status == 200
    connection.close()


def test_idle_kept_connections_do_not_hold_the_server_up_when_it_stops(tmp_path: Path) -> None:
    emulator = AwsEmulator(log_path=tmp_path / "moto.log").start()
    try:
        idle = [_connection(emulator) for _ in range(3)]
        for connection in idle:
            connection.request("GET", "/moto-api/data.json")
            connection.getresponse().read()
    finally:
        started = time.monotonic()
        emulator.stop()
    assert time.monotonic() - started < 5  # stop() kills a server still running after 10 s
    for connection in idle:
        connection.close()
