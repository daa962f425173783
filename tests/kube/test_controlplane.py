"""Check that the test control plane enforces what a real cluster enforces.

Tests of the gateway's Kubernetes code are only worth something if RBAC,
admission and the controllers behave as in production, so these tests
exercise each of them once against the harness.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest
from lightkube import ApiError, Client
from lightkube.models.authorization_v1 import (
    ResourceAttributes,
    SubjectAccessReviewSpec,
)
from lightkube.models.core_v1 import (
    Capabilities,
    Container,
    PodSecurityContext,
    PodSpec,
    ResourceQuotaSpec,
    SeccompProfile,
    SecurityContext,
)
from lightkube.models.meta_v1 import ObjectMeta
from lightkube.models.rbac_v1 import RoleRef, Subject
from lightkube.resources.authorization_v1 import SubjectAccessReview
from lightkube.resources.core_v1 import (
    ConfigMap,
    Namespace,
    Pod,
    ResourceQuota,
    ServiceAccount,
)
from lightkube.resources.rbac_authorization_v1 import RoleBinding

from tests.kube.controlplane import ControlPlane, kube_version

pytestmark = pytest.mark.kube

# Maximum time for a controller to act. Here they took well under a second.
CONTROLLER_TIMEOUT = 60.0


def wait_until(condition: Callable[[], bool], description: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout:.0f} s waiting for {description}"
            )
        time.sleep(0.2)


def is_not_found(client: Client, get: Callable[[], object]) -> bool:
    try:
        get()
    except ApiError as error:
        if error.status.code == 404:
            return True
        raise
    return False


NamespaceFactory = Callable[..., str]


@pytest.fixture
def make_namespace(kube_client: Client) -> Iterator[NamespaceFactory]:
    """Create uniquely named namespaces and delete them after the test.

    Each namespace is returned once its ``default`` service account exists,
    because the ServiceAccount admission plugin rejects pods until then.
    """
    created: list[str] = []

    def make(labels: dict[str, str] | None = None) -> str:
        name = f"test-{uuid.uuid4().hex[:10]}"
        kube_client.create(Namespace(metadata=ObjectMeta(name=name, labels=labels)))
        created.append(name)

        def has_default_service_account() -> bool:
            return not is_not_found(
                kube_client,
                lambda: kube_client.get(ServiceAccount, "default", namespace=name),
            )

        wait_until(
            has_default_service_account,
            f"service account {name}/default",
            CONTROLLER_TIMEOUT,
        )
        return name

    yield make
    for name in created:
        try:
            kube_client.delete(Namespace, name)
        except ApiError as error:
            if error.status.code != 404:
                raise


def test_version_matches_build_script(control_plane: ControlPlane) -> None:
    response = httpx.get(
        f"{control_plane.server_url}/version",
        verify=control_plane.admin_ssl_context(),
        trust_env=False,
    )
    assert response.status_code == 200
    assert response.json()["gitVersion"] == kube_version()


def test_rbac_denies_unbound_user(
    kube_client: Client, kube_client_for: Callable[[str], Client]
) -> None:
    review = kube_client.create(
        SubjectAccessReview(
            spec=SubjectAccessReviewSpec(
                user="nobody",
                resourceAttributes=ResourceAttributes(
                    namespace="default", verb="list", resource="configmaps"
                ),
            )
        )
    )
    assert review.status is not None
    assert review.status.allowed is False

    nobody = kube_client_for("nobody")
    with pytest.raises(ApiError) as raised:
        list(nobody.list(ConfigMap, namespace="default"))
    assert raised.value.status.code == 403
    # 403 rather than 401 and the user name show that the token authenticated.
    assert 'User "nobody"' in (raised.value.status.message or "")


def test_rbac_rolebinding_grants_group(
    kube_client: Client,
    kube_client_for: Callable[[str], Client],
    make_namespace: NamespaceFactory,
) -> None:
    namespace = make_namespace()
    kube_client.create(
        RoleBinding(
            metadata=ObjectMeta(name="tenant-a-view", namespace=namespace),
            roleRef=RoleRef(
                apiGroup="rbac.authorization.k8s.io", kind="ClusterRole", name="view"
            ),
            subjects=[
                Subject(
                    apiGroup="rbac.authorization.k8s.io",
                    kind="Group",
                    name="tenant-a-owners",
                )
            ],
        )
    )
    alice = kube_client_for("alice")
    bob = kube_client_for("bob")

    def alice_can_list() -> bool:
        try:
            list(alice.list(ConfigMap, namespace=namespace))
        except ApiError as error:
            if error.status.code == 403:
                return False
            raise
        return True

    # The RBAC authorizer reads bindings from an informer cache, and "view"
    # gets its rules from the clusterrole-aggregation controller.
    wait_until(alice_can_list, "the role binding to take effect", 10.0)
    with pytest.raises(ApiError) as raised:
        list(bob.list(ConfigMap, namespace=namespace))
    assert raised.value.status.code == 403


def test_namespace_delete_is_finalized(
    kube_client: Client, make_namespace: NamespaceFactory
) -> None:
    namespace = make_namespace()
    kube_client.create(
        ConfigMap(metadata=ObjectMeta(name="content"), data={"key": "value"}),
        namespace=namespace,
    )

    kube_client.delete(Namespace, namespace)

    # The namespace controller deletes the content, then removes the
    # "kubernetes" finalizer, and only then does the namespace disappear.
    wait_until(
        lambda: is_not_found(
            kube_client, lambda: kube_client.get(Namespace, namespace)
        ),
        f"namespace {namespace} to be deleted",
        CONTROLLER_TIMEOUT,
    )


def test_resourcequota_status_used(
    kube_client: Client, make_namespace: NamespaceFactory
) -> None:
    namespace = make_namespace()
    kube_client.create(
        ConfigMap(metadata=ObjectMeta(name="counted"), data={"key": "value"}),
        namespace=namespace,
    )
    kube_client.create(
        ResourceQuota(
            metadata=ObjectMeta(name="quota"),
            spec=ResourceQuotaSpec(hard={"configmaps": "5", "pods": "2"}),
        ),
        namespace=namespace,
    )
    configmap_count = len(list(kube_client.list(ConfigMap, namespace=namespace)))

    def used() -> dict[str, str]:
        quota = kube_client.get(ResourceQuota, "quota", namespace=namespace)
        if quota.status is None or quota.status.used is None:
            return {}
        return dict(quota.status.used)

    wait_until(lambda: bool(used()), "status.used of the quota", CONTROLLER_TIMEOUT)
    assert used()["configmaps"] == str(configmap_count)
    assert used()["pods"] == "0"


def _pod(name: str, *, privileged: bool) -> Pod:
    if privileged:
        security_context = SecurityContext(privileged=True)
    else:
        security_context = SecurityContext(
            allowPrivilegeEscalation=False,
            capabilities=Capabilities(drop=["ALL"]),
        )
    return Pod(
        metadata=ObjectMeta(name=name),
        spec=PodSpec(
            securityContext=PodSecurityContext(
                runAsNonRoot=True,
                runAsUser=65532,
                seccompProfile=SeccompProfile(type="RuntimeDefault"),
            ),
            containers=[
                Container(
                    name="main",
                    image="registry.invalid/pause:1",
                    securityContext=security_context,
                )
            ],
        ),
    )


def test_podsecurity_restricted_rejects_privileged(
    kube_client: Client, make_namespace: NamespaceFactory
) -> None:
    restricted = make_namespace({"pod-security.kubernetes.io/enforce": "restricted"})

    with pytest.raises(ApiError) as raised:
        kube_client.create(_pod("privileged", privileged=True), namespace=restricted)
    assert raised.value.status.code == 403
    message = raised.value.status.message or ""
    assert 'violates PodSecurity "restricted:latest"' in message
    assert "privileged" in message

    # A compliant pod is stored; no kubelet runs, so it stays Pending.
    kube_client.create(_pod("compliant", privileged=False), namespace=restricted)

    # Without the label the built-in "privileged" level admits the same pod.
    unlabelled = make_namespace()
    kube_client.create(_pod("privileged", privileged=True), namespace=unlabelled)
