"""A home with users, systems and one release, for the start-up and API parts."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.common import Home

#: Intake answers of a low-risk domain, so that what an approval needs stays simple.
INTERNAL = {"domain": "internal_operations"}


@dataclass
class Prepared:
    """What ``populate`` made: tokens, system names, the digest of the first one's release."""

    dev_token: str
    approver_token: str
    systems: list[str]
    digest: str


def populate(home: Home, *, systems: int) -> Prepared:
    """Add a developer, an approver, ``systems`` systems and one release of the first.

    Runs the service layer in-process (the code the CLI and the API call): a CLI call per
    object would make preparing take longer than measuring.
    """
    from charter.domain.releases import ReleaseManifest
    from charter.domain.systems import IntakeFile
    from charter.services import releases, users
    from charter.services import systems as system_svc

    charter = home.charter()
    names = [f"system-{i:03d}" for i in range(systems)]
    with charter.act(home.token, write=True) as ctx:
        _, dev_token = users.create_user(ctx, "dev", "developer")
        _, approver_token = users.create_user(ctx, "approver", "approver")
        for i, name in enumerate(names):
            system_svc.register_system(
                ctx,
                name,
                owner=f"team-{i % 3}",
                purpose=f"Benchmark system {i}: routes internal tickets.",
                population="employees",
                surfaces=["web", "batch"],
                intake=IntakeFile(answers=INTERNAL),
            )
    manifest = ReleaseManifest.model_validate(
        {
            "label": "v1",
            "components": [
                {"kind": "model", "name": "scorer", "uri": "s3://m/s.pkl", "sha256": "a" * 64},
                {"kind": "prompt", "name": "system", "text": "You are a careful assistant."},
            ],
            "config": {"threshold": 0.5},
            "contract": {"offline": {"roc_auc": ">= 0.75"}},
        }
    )
    with charter.act(dev_token, write=True) as ctx:
        release, _ = releases.create_release(ctx, names[0], manifest, base_dir=None)
        digest = release.digest
    charter.db.dispose()
    return Prepared(dev_token, approver_token, names, digest)
