//! TLS and mTLS on the server's own port, with certificates made by `rcgen` for each test:
//! the SDK calls over mTLS as a certificate identity the operator gave roles and as a token's
//! subject; handshakes are refused for a missing, foreign or expired client certificate and
//! for a server certificate with the wrong name; certificate files replaced while a client
//! keeps calling are served to new handshakes at once, and the client sees no error.

use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, AtomicUsize, Ordering},
    },
    time::Duration,
};

use causeway_client::{
    BuildError, Client, Error, inventory::RegisterProductRequest, orders::ListOrdersRequest,
};
use causeway_tests::{mtls::MtlsServer, pki::TestCa};
use futures::StreamExt;

/// The workload the operator gave a role: a batch job with no JWT.
const BATCH: &str = "spiffe://causeway.test/ns/stock/sa/importer";
/// A workload with a certificate but no roles: the gateway.
const GATEWAY: &str = "spiffe://causeway.test/ns/edge/sa/gateway";

/// One page of the caller's orders.
async fn list_orders(client: &Client) -> Result<(), Error> {
    let page = client
        .orders()
        .list_order_pages(ListOrdersRequest::default())
        .next()
        .await;
    page.expect("a first page").map(drop)
}

fn product(sku: &str) -> RegisterProductRequest {
    RegisterProductRequest {
        sku: sku.into(),
        name: "Kettle".into(),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_identity_with_roles_calls_without_a_token_and_a_token_wins_over_it() {
    let mtls = MtlsServer::start(vec![format!("{BATCH}=inventory.staff,orders.staff")]).await;
    let batch = mtls.ca.client(BATCH);
    let gateway = mtls.ca.client(GATEWAY);

    // The batch job's certificate holds the staff roles: no JWT needed.
    let job = mtls
        .sdk(Some(&batch))
        .connect()
        .await
        .expect("mTLS as the batch job");
    job.inventory()
        .register_product(product("tls-batch-1"))
        .await
        .expect("a staff command as the certificate identity");

    // The gateway's certificate proves the connection, not a caller: without a token it is
    // anonymous, and with one it is the token's subject.
    let anonymous = mtls
        .sdk(Some(&gateway))
        .connect()
        .await
        .expect("mTLS as the gateway");
    let refused = anonymous
        .inventory()
        .register_product(product("tls-gateway-1"))
        .await
        .unwrap_err();
    assert!(
        matches!(refused, Error::Unauthenticated { .. }),
        "{refused:?}"
    );
    let forwarding = mtls
        .sdk(Some(&gateway))
        .bearer_token(mtls.token("stock-clerk", &["inventory.staff"]))
        .connect()
        .await
        .expect("mTLS with a token");
    forwarding
        .inventory()
        .register_product(product("tls-gateway-2"))
        .await
        .expect("a staff command as the token's subject");

    // A token always wins: the batch job's connection carrying a customer's token is that
    // customer, who may list orders but not register products.
    let as_customer = mtls
        .sdk(Some(&batch))
        .bearer_token(mtls.token("ada", &["customer"]))
        .connect()
        .await
        .expect("mTLS with a customer token");
    list_orders(&as_customer)
        .await
        .expect("a customer lists her orders");
    let denied = as_customer
        .inventory()
        .register_product(product("tls-batch-2"))
        .await
        .unwrap_err();
    assert!(
        matches!(denied, Error::PermissionDenied { .. }),
        "{denied:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn handshakes_without_a_valid_client_certificate_or_with_the_wrong_server_name_fail() {
    let mtls = MtlsServer::start(vec![format!("{BATCH}=inventory.staff,orders.staff")]).await;
    let foreign = TestCa::new("Some Other CA", mtls.pki_dir());
    let foreign_leaf = mtls.ca.write_leaf(&foreign.client(BATCH), "foreign");
    let expired_leaf = mtls
        .ca
        .write_leaf(&mtls.ca.expired_client(BATCH), "expired");

    // The server's alert says why each was refused.
    for (case, leaf, alert) in [
        ("no client certificate", None, "CertificateRequired"),
        (
            "a foreign CA's certificate",
            Some(&foreign_leaf),
            "UnknownCA",
        ),
        (
            "an expired certificate",
            Some(&expired_leaf),
            "CertificateExpired",
        ),
    ] {
        let refusal = mtls.refusal(leaf).await;
        assert!(refusal.contains(alert), "{case}: {refusal}");
    }

    // What the SDK makes of them: a transport failure, not an answer.
    for (case, identity) in [
        ("no client certificate", None),
        ("a foreign CA's certificate", Some(foreign.client(BATCH))),
        (
            "an expired certificate",
            Some(mtls.ca.expired_client(BATCH)),
        ),
    ] {
        let called = match mtls.sdk(identity.as_ref()).connect().await {
            Ok(client) => list_orders(&client).await,
            Err(refused) => {
                assert!(
                    matches!(refused, BuildError::Connect { .. }),
                    "{case}: {refused:?}"
                );
                continue;
            }
        };
        assert!(
            matches!(called, Err(Error::Unavailable { .. })),
            "{case}: {called:?}"
        );
    }

    // The client refuses a server whose certificate does not carry the name it expects.
    let wrong_name = mtls
        .sdk(Some(&mtls.ca.client(BATCH)))
        .tls_domain_name("causeway.elsewhere.test")
        .connect()
        .await;
    assert!(
        matches!(&wrong_name, Err(BuildError::Connect { reason, .. }) if reason.contains("not valid for name")),
        "{:?}",
        wrong_name.err()
    );

    // The same server, CA and name with a valid certificate: the refusals above were theirs.
    let valid = mtls
        .sdk(Some(&mtls.ca.client(BATCH)))
        .tls_domain_name("localhost")
        .connect()
        .await
        .expect("a valid certificate is accepted");
    list_orders(&valid).await.expect("and can call");
}

#[tokio::test(flavor = "multi_thread")]
async fn replaced_certificate_files_serve_new_handshakes_while_an_open_connection_keeps_calling() {
    let mtls =
        Arc::new(MtlsServer::start(vec![format!("{BATCH}=inventory.staff,orders.staff")]).await);
    let batch = mtls.ca.client(BATCH);
    let probe = mtls.ca.write_leaf(&mtls.ca.client(GATEWAY), "probe");
    let first = mtls.ca.server();
    first.replace(&mtls.served);
    // Nothing served the first certificate yet: this handshake reads it.
    assert_eq!(mtls.served_certificate(&probe).await, first.der);

    // A client calling in a loop over one connection, counting answers and errors.
    let client = mtls.sdk(Some(&batch)).connect().await.expect("connect");
    let (calls, errors, stop) = (
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicUsize::new(0)),
        Arc::new(AtomicBool::new(false)),
    );
    let caller = {
        let (calls, errors, stop) = (calls.clone(), errors.clone(), stop.clone());
        tokio::spawn(async move {
            while !stop.load(Ordering::SeqCst) {
                match list_orders(&client).await {
                    Ok(_) => calls.fetch_add(1, Ordering::SeqCst),
                    Err(e) => {
                        eprintln!("call failed: {e:?}");
                        errors.fetch_add(1, Ordering::SeqCst)
                    }
                };
            }
        })
    };
    let answered = |at_least: usize| {
        let calls = calls.clone();
        async move {
            while calls.load(Ordering::SeqCst) < at_least {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(10), answered(5))
        .await
        .expect("the client calls before the rotation");

    let second = mtls.ca.server();
    second.replace(&mtls.served);
    assert_eq!(
        mtls.served_certificate(&probe).await,
        second.der,
        "the next handshake is served the new certificate"
    );
    let after_rotation = calls.load(Ordering::SeqCst);
    tokio::time::timeout(Duration::from_secs(10), answered(after_rotation + 5))
        .await
        .expect("the client keeps calling after the rotation");

    // Files half-replaced (a new certificate before its key): the pair is not used, new
    // handshakes keep the last good one; once the key follows, the new pair is served.
    let third = mtls.ca.server();
    std::fs::write(&mtls.served.certificate, &third.certificate).expect("write");
    assert_eq!(mtls.served_certificate(&probe).await, second.der);
    third.replace(&mtls.served);
    assert_eq!(mtls.served_certificate(&probe).await, third.der);

    stop.store(true, Ordering::SeqCst);
    caller.await.expect("caller");
    assert_eq!(errors.load(Ordering::SeqCst), 0, "the client saw no error");
}
