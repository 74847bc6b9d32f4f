//! Users, roles and invitations: joining only by invitation, the role
//! ladder (viewers read only, admins manage, owners own), the last owner,
//! and tenant isolation (another tenant's user is 404).

use crate::auth::{PASSWORD, Session};
use crate::harness::{TestApp, problem, spawn_app};
use serde_json::{Value, json};

impl TestApp {
    /// An invitation token for `email` with `role`, made by `by`.
    pub(crate) async fn invite(&self, by: &str, email: &str, role: &str) -> anyhow::Result<String> {
        let response = self
            .post_as(
                "/v1/users/invitations",
                Some(by),
                &json!({"email": email, "role": role}),
            )
            .await?;
        anyhow::ensure!(
            response.status() == 201,
            "invite: {}",
            response.text().await?
        );
        let body: Value = response.json().await?;
        Ok(body["token"].as_str().unwrap_or_default().to_owned())
    }

    /// Invites `email` as `role` and logs the new user in.
    pub(crate) async fn join(
        &self,
        by: &str,
        email: &str,
        role: &str,
    ) -> anyhow::Result<(String, Session)> {
        let token = self.invite(by, email, role).await?;
        let response = self
            .post_as(
                "/v1/auth/register",
                None,
                &json!({"email": email, "password": PASSWORD, "invitation_token": token}),
            )
            .await?;
        anyhow::ensure!(response.status() == 202, "join: {}", response.text().await?);
        let session = self.login(email).await?;
        Ok((my_id(self, &session.access).await?, session))
    }

    async fn user_request(
        &self,
        method: reqwest::Method,
        token: &str,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<reqwest::Response> {
        let mut request = self
            .http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        Ok(request.send().await?)
    }
}

async fn my_id(app: &TestApp, token: &str) -> anyhow::Result<String> {
    let me: Value = app.get_as("/v1/me", token).await?.json().await?;
    Ok(me["user"]["id"].as_str().unwrap_or_default().to_owned())
}

#[tokio::test]
async fn an_invitation_joins_its_tenant_once_with_its_role() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("owner@example.com").await?;
    let tenant: Value = app.get_as("/v1/me", &owner.access).await?.json().await?;
    let token = app
        .invite(&owner.access, "Vera@Example.com", "viewer")
        .await?;
    assert!(token.starts_with("cli_"));

    let join =
        |email: &str| json!({"email": email, "password": PASSWORD, "invitation_token": token});
    let (status, body) = problem(
        app.post_as("/v1/auth/register", None, &join("other@example.com"))
            .await?,
    )
    .await?;
    assert_eq!(
        (status, crate::harness::fields(&body)),
        (422, vec!["email".to_owned()])
    );
    let response = app
        .post_as("/v1/auth/register", None, &join("vera@example.com"))
        .await?;
    assert_eq!(response.status(), 202);
    let vera = app.login("vera@example.com").await?;
    let joined: Value = app.get_as("/v1/me", &vera.access).await?.json().await?;
    assert_eq!(
        joined["tenant"]["id"], tenant["tenant"]["id"],
        "no new tenant"
    );
    assert_eq!(joined["user"]["role"], "viewer");
    assert_eq!(
        joined["user"]["email_verified"], true,
        "the invitation was mailed to this address"
    );
    let (status, body) = problem(
        app.post_as("/v1/auth/register", None, &join("vera@example.com"))
            .await?,
    )
    .await?;
    assert_eq!(
        (status, crate::harness::fields(&body)),
        (422, vec!["invitation_token".to_owned()]),
        "used once"
    );

    let viewer = app.login("vera@example.com").await?;
    let users: Value = app
        .get_as("/v1/users", &viewer.access)
        .await?
        .json()
        .await?;
    let emails: Vec<&str> = users["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| u["email"].as_str())
        .collect();
    assert_eq!(emails, ["owner@example.com", "vera@example.com"]);
    // No account oracle: an address with an account is invited like any
    // other; only the mail to it differs (it cannot be accepted).
    let again = app
        .invite(&owner.access, "vera@example.com", "member")
        .await?;
    assert!(again.starts_with("cli_"));
    let templates: Vec<String> = sqlx::query_scalar(
        "SELECT template FROM mail_messages WHERE to_address = 'vera@example.com'
         ORDER BY created_at, id",
    )
    .fetch_all(&app.db.pool)
    .await?;
    assert_eq!(
        templates,
        ["invitation", "welcome", "invitation_to_existing_account"]
    );
    let (status, _) = problem(
        app.post_as(
            "/v1/users/invitations",
            Some(&owner.access),
            &json!({"email": "x@example.com", "role": "king"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 422);
    app.teardown().await
}

#[tokio::test]
async fn viewers_read_but_get_403_on_every_write() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("owner@example.com").await?;
    let (_, viewer) = app
        .join(&owner.access, "viewer@example.com", "viewer")
        .await?;
    let (_, member) = app
        .join(&owner.access, "member@example.com", "member")
        .await?;
    let job = json!({"lattice": {"dimensions": 2, "size": 4}, "operation": "shortest_path", "params": {"start": [0, 0], "end": [3, 3]}});

    let (status, body) = problem(app.submit_as(&viewer.access, &job).await?).await?;
    assert_eq!(status, 403, "{body}");
    let lattice = json!({"name": "grid", "dimensions": 2, "size": 3});
    let (status, _) = problem(
        app.post_as("/v1/lattices", Some(&viewer.access), &lattice)
            .await?,
    )
    .await?;
    assert_eq!(status, 403);
    let (status, _) = problem(
        app.post_as(
            "/v1/users/invitations",
            Some(&member.access),
            &json!({"email": "x@example.com", "role": "viewer"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 403, "members do not invite");

    let submitted = app.submit_as(&member.access, &job).await?;
    assert_eq!(submitted.status(), 202, "members write");
    let id = submitted.json::<Value>().await?["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let created: Value = app
        .post_as("/v1/lattices", Some(&member.access), &lattice)
        .await?
        .json()
        .await?;
    let path = format!(
        "/v1/lattices/{}",
        created["id"].as_str().unwrap_or_default()
    );
    for (method, body) in [
        (reqwest::Method::PATCH, Some(json!({"name": "x"}))),
        (reqwest::Method::DELETE, None),
    ] {
        let (status, _) = problem(
            app.user_request(method.clone(), &viewer.access, &path, body)
                .await?,
        )
        .await?;
        assert_eq!(status, 403, "viewer {method} lattice");
    }
    assert_eq!(
        app.get_job_as(&viewer.access, &id).await?.status(),
        200,
        "viewers read jobs"
    );
    assert_eq!(
        app.get_as(&path, &viewer.access).await?.status(),
        200,
        "and lattices"
    );
    let (status, _) = problem(app.submit_as(&app.key, &json!({})).await?).await?;
    assert_eq!(status, 422, "API keys act as members: past the role check");
    app.teardown().await
}

#[tokio::test]
async fn the_last_owner_can_be_neither_demoted_nor_removed() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("owner@example.com").await?;
    let owner_id = my_id(&app, &owner.access).await?;
    let path = format!("/v1/users/{owner_id}");
    let (status, _) = problem(
        app.user_request(
            reqwest::Method::PATCH,
            &owner.access,
            &path,
            Some(json!({"role": "admin"})),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 409);
    let (status, _) = problem(
        app.user_request(reqwest::Method::DELETE, &owner.access, &path, None)
            .await?,
    )
    .await?;
    assert_eq!(status, 409);

    // Admins manage below owner only.
    let (admin_id, admin) = app
        .join(&owner.access, "admin@example.com", "admin")
        .await?;
    let (status, _) = problem(
        app.user_request(
            reqwest::Method::PATCH,
            &admin.access,
            &path,
            Some(json!({"role": "member"})),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 403, "an admin cannot demote an owner");
    let (status, _) = problem(
        app.post_as(
            "/v1/users/invitations",
            Some(&admin.access),
            &json!({"email": "o2@example.com", "role": "owner"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 403, "an admin cannot invite an owner");
    let (status, _) = problem(
        app.user_request(
            reqwest::Method::PATCH,
            &admin.access,
            &format!("/v1/users/{admin_id}"),
            Some(json!({"role": "owner"})),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 403, "nor promote itself");

    // With a second owner, the first may step down; the second is then the last.
    let promoted = app
        .user_request(
            reqwest::Method::PATCH,
            &owner.access,
            &format!("/v1/users/{admin_id}"),
            Some(json!({"role": "owner"})),
        )
        .await?;
    assert_eq!(promoted.status(), 200);
    let demoted: Value = app
        .user_request(
            reqwest::Method::PATCH,
            &owner.access,
            &path,
            Some(json!({"role": "member"})),
        )
        .await?
        .json()
        .await?;
    assert_eq!(demoted["role"], "member");
    let me: Value = app.get_as("/v1/me", &owner.access).await?.json().await?;
    assert_eq!(
        me["role"], "member",
        "a demotion applies to live tokens at once"
    );
    let (status, _) = problem(
        app.user_request(
            reqwest::Method::DELETE,
            &admin.access,
            &format!("/v1/users/{admin_id}"),
            None,
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 409);

    // Removing a user ends their sessions.
    let removed = app
        .user_request(reqwest::Method::DELETE, &admin.access, &path, None)
        .await?;
    assert_eq!(removed.status(), 204);
    let (status, _) = problem(app.get_as("/v1/me", &owner.access).await?).await?;
    assert_eq!(status, 401);
    app.teardown().await
}

#[tokio::test]
async fn another_tenants_users_are_404_and_unlisted() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let a = app.signup("a@example.com").await?;
    let (member_id, _) = app
        .join(&a.access, "a-member@example.com", "member")
        .await?;
    let b = app.signup("b@example.com").await?;
    let path = format!("/v1/users/{member_id}");
    let cases = [
        (reqwest::Method::GET, None),
        (reqwest::Method::PATCH, Some(json!({"role": "viewer"}))),
        (reqwest::Method::DELETE, None),
    ];
    for (method, body) in cases {
        let (status, _) = problem(
            app.user_request(method.clone(), &b.access, &path, body)
                .await?,
        )
        .await?;
        assert_eq!(status, 404, "{method} another tenant's user");
    }
    let listed: Value = app.get_as("/v1/users", &b.access).await?.json().await?;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
    let (status, _) = problem(app.get_as("/v1/users/not-a-uuid", &b.access).await?).await?;
    assert_eq!(status, 404);
    let still: Value = app.get_as(&path, &a.access).await?.json().await?;
    assert_eq!(still["role"], "member", "untouched");
    app.teardown().await
}

#[tokio::test]
async fn api_keys_act_as_members_without_a_session() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let me: Value = app.get_as("/v1/me", &app.key).await?.json().await?;
    assert_eq!(
        (me["role"].clone(), me["user"].clone()),
        (json!("member"), Value::Null)
    );
    let (status, _) = problem(
        app.post_as(
            "/v1/users/invitations",
            Some(&app.key),
            &json!({"email": "x@example.com", "role": "viewer"}),
        )
        .await?,
    )
    .await?;
    assert_eq!(status, 403);
    let (status, _) = problem(
        app.post_as("/v1/auth/logout", Some(&app.key), &json!({}))
            .await?,
    )
    .await?;
    assert_eq!(status, 403);
    app.teardown().await
}
