"""The notification channel: a local outbox by default, an SNS topic (moto's server here) when configured."""

import json

import boto3

from hub_platform.lib.resources import NotificationResource
from hub_platform_tests.conftest import MOTO_KEYS

ALERT = {"id": "SO-1:late", "recipients": ["customer:ACC-1", "driver:DRV-1"], "subject": "Delivery SO-1 will be late",
         "body": "Expected 14:20, promised by 13:00.", "data": {"order_id": "SO-1", "eta": "2026-10-30T14:20:00Z"}}


def test_messages_go_to_the_local_outbox_by_default(tmp_path):
    notifier = NotificationResource(outbox_dir=str(tmp_path))
    assert notifier.send("delay_alert", [ALERT, {**ALERT, "id": "SO-2:late"}]) == 2
    assert notifier.send("delay_alert", []) == 0
    lines = [json.loads(line) for line in (tmp_path / "delay_alert.jsonl").read_text().splitlines()]
    assert [m["id"] for m in lines] == ["SO-1:late", "SO-2:late"]
    assert lines[0]["kind"] == "delay_alert" and lines[0]["recipients"] == ALERT["recipients"] and lines[0]["sent_at"]


def test_messages_go_to_the_sns_topic_when_one_is_configured(moto_endpoint, tmp_path):
    sns = boto3.client("sns", endpoint_url=moto_endpoint, region_name="us-east-1", **MOTO_KEYS)
    sqs = boto3.client("sqs", endpoint_url=moto_endpoint, region_name="us-east-1", **MOTO_KEYS)
    topic = sns.create_topic(Name="hub-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="alerts-inbox")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})

    notifier = NotificationResource(sns_topic_arn=topic, endpoint_url=moto_endpoint, region_name="us-east-1",
                                    outbox_dir=str(tmp_path), **MOTO_KEYS)
    assert notifier.send("delay_alert", [ALERT]) == 1
    received = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=1)["Messages"]
    assert [json.loads(m["Body"])["id"] for m in received] == ["SO-1:late"]
    assert not (tmp_path / "delay_alert.jsonl").exists()  # one channel at a time
