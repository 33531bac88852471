from loglane.settings import Settings
from loglane.stack.components.s3 import s3_client
from loglane.stack.manager import Stack


def test_should_put_get_and_list_objects_in_the_archive_bucket(stack: Stack, settings: Settings, unique: str) -> None:
    client = s3_client(settings)
    prefix = f"it-s3/{unique}/"
    for n in range(3):
        client.put_object(Bucket=settings.s3_bucket, Key=f"{prefix}{n}.txt", Body=f"object {n}".encode())

    listed = client.list_objects_v2(Bucket=settings.s3_bucket, Prefix=prefix)
    body = client.get_object(Bucket=settings.s3_bucket, Key=f"{prefix}1.txt")["Body"].read()

    assert sorted(o["Key"] for o in listed["Contents"]) == [f"{prefix}{n}.txt" for n in range(3)]
    assert body == b"object 1"
