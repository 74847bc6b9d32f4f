//! The web dashboard against the real app: logging in sets an HttpOnly,
//! SameSite=Strict session cookie; pages without a session redirect to the
//! login page; another tenant's job is 404; a viewer cannot submit; forms
//! without the right CSRF token are refused; operators see the fleet; the
//! docs page loads only vendored assets. Issue 20's account pages: register
//! and join, verify an email, reset and change a password, the audit log,
//! with the mailed tokens read from the mail outbox (no mail is sent here).
//! Issue 21's concurrency keys page: set and delete a stored limit.

use crate::auth::PASSWORD;
use crate::harness::{TestApp, spawn_app};
use catalytic_shared::tenant::Plan;
use serde_json::{Value, json};
use std::collections::HashMap;

/// A browser without redirects: it keeps the cookies it is given.
struct Browser {
    base: String,
    http: reqwest::Client,
    cookies: HashMap<String, String>,
}

/// A response as a test reads it.
struct Page {
    status: u16,
    location: String,
    set_cookies: Vec<String>,
    body: String,
}

impl Browser {
    fn new(app: &TestApp) -> anyhow::Result<Self> {
        Ok(Browser {
            base: app.base.clone(),
            http: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()?,
            cookies: HashMap::new(),
        })
    }

    async fn send(&mut self, request: reqwest::RequestBuilder) -> anyhow::Result<Page> {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let response = request.header("cookie", cookie).send().await?;
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect();
        for c in &set_cookies {
            let pair = c.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                match value.is_empty() {
                    true => self.cookies.remove(name),
                    false => self.cookies.insert(name.to_owned(), value.to_owned()),
                };
            }
        }
        Ok(Page {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            set_cookies,
            body: response.text().await?,
        })
    }

    async fn get(&mut self, path: &str) -> anyhow::Result<Page> {
        let request = self.http.get(format!("{}{path}", self.base));
        self.send(request).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> anyhow::Result<Page> {
        let request = self.http.post(format!("{}{path}", self.base)).form(form);
        self.send(request).await
    }

    /// Logs in through the login form; the answer to the form's POST.
    async fn log_in(&mut self, email: &str, password: &str) -> anyhow::Result<Page> {
        let form = self.get("/dashboard/login").await?;
        let csrf = csrf_of(&form.body)?;
        self.post(
            "/dashboard/login",
            &[("email", email), ("password", password), ("csrf", &csrf)],
        )
        .await
    }

    /// Registers through the register form; the answer to its POST.
    async fn register(&mut self, email: &str, password: &str) -> anyhow::Result<Page> {
        let csrf = self.csrf("/dashboard/register").await?;
        self.post(
            "/dashboard/register",
            &[
                ("email", email),
                ("password", password),
                ("tenant_name", "Analytical Engines"),
                ("csrf", &csrf),
            ],
        )
        .await
    }

    /// The CSRF token of the forms on `path`.
    async fn csrf(&mut self, path: &str) -> anyhow::Result<String> {
        let page = self.get(path).await?;
        anyhow::ensure!(page.status == 200, "{path}: {}", page.status);
        csrf_of(&page.body)
    }
}

fn csrf_of(html: &str) -> anyhow::Result<String> {
    let marker = r#"name="csrf" value=""#;
    let start = html
        .find(marker)
        .ok_or_else(|| anyhow::anyhow!("no csrf field in {html}"))?
        + marker.len();
    Ok(html[start..].chars().take_while(|c| *c != '"').collect())
}

const PATH_FORM: &[(&str, &str)] = &[
    ("width", "6"),
    ("height", "4"),
    ("start_x", "0"),
    ("start_y", "0"),
    ("end_x", "5"),
    ("end_y", "3"),
];

fn with_csrf<'a>(form: &[(&'a str, &'a str)], csrf: &'a str) -> Vec<(&'a str, &'a str)> {
    let mut form = form.to_vec();
    form.push(("csrf", csrf));
    form
}

async fn job_count(app: &TestApp, token: &str) -> anyhow::Result<usize> {
    let page: Value = app.get_as("/v1/jobs", token).await?.json().await?;
    Ok(page["items"].as_array().map_or(0, Vec::len))
}

#[tokio::test]
async fn logging_in_sets_an_httponly_strict_session_cookie() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    app.register("ada@example.com").await?;
    let mut browser = Browser::new(&app)?;

    let wrong = browser
        .log_in("ada@example.com", "not the password")
        .await?;
    assert_eq!(wrong.status, 401, "{}", wrong.body);
    assert!(
        wrong.body.contains("wrong email or password"),
        "{}",
        wrong.body
    );
    assert!(!browser.cookies.contains_key("catalytic_session"));

    let ok = browser.log_in("ada@example.com", PASSWORD).await?;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/dashboard/jobs"));
    let cookie = ok
        .set_cookies
        .iter()
        .find(|c| c.starts_with("catalytic_session="))
        .ok_or_else(|| anyhow::anyhow!("no session cookie in {:?}", ok.set_cookies))?;
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/dashboard"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    let jobs = browser.get("/dashboard/jobs").await?;
    assert_eq!(jobs.status, 200, "{}", jobs.body);
    assert!(jobs.body.contains("No jobs"), "{}", jobs.body);

    // Logging out ends the session in the API too: the old cookie is dead.
    let old = browser.cookies.get("catalytic_session").cloned();
    let csrf = browser.csrf("/dashboard/jobs").await?;
    let out = browser
        .post("/dashboard/logout", &[("csrf", &csrf)])
        .await?;
    assert_eq!(
        (out.status, out.location.as_str()),
        (303, "/dashboard/login")
    );
    let revoked = app
        .get_as("/v1/jobs", old.as_deref().unwrap_or_default())
        .await?;
    assert_eq!(revoked.status(), 401);
    app.teardown().await
}

/// Issue 18: a control character in a form field is refused by name, as in
/// a JSON body, before any handler sees the form (it would be stored).
#[tokio::test]
async fn form_fields_with_control_characters_are_refused_by_name() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    app.register("nul@example.com").await?;
    let mut browser = Browser::new(&app)?;
    let form = browser.get("/dashboard/login").await?;
    let csrf = csrf_of(&form.body)?;
    let refused = browser
        .post(
            "/dashboard/login",
            &[
                ("email", "nul\u{0}@example.com"),
                ("password", "x"),
                ("csrf", &csrf),
            ],
        )
        .await?;
    assert_eq!(refused.status, 422, "{}", refused.body);
    assert!(
        refused
            .body
            .contains("email: must not contain control characters"),
        "{}",
        refused.body
    );
    // Tabs and line breaks stay allowed (a textarea holds them).
    let ordinary = browser
        .post(
            "/dashboard/login",
            &[
                ("email", "nul@example.com"),
                ("password", "wrong\tpassword\n"),
                ("csrf", &csrf),
            ],
        )
        .await?;
    assert_ne!(ordinary.status, 422, "{}", ordinary.body);
    app.teardown().await
}

#[tokio::test]
async fn pages_without_a_session_redirect_to_the_login_page() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let mut browser = Browser::new(&app)?;
    for path in [
        "/dashboard/jobs",
        "/dashboard/jobs/new",
        "/dashboard/jobs/01a21317-7c9d-71ac-a0d4-ab1ce41bfe66",
        "/dashboard/webhooks",
        "/dashboard/billing",
        "/dashboard/account",
        "/dashboard/audit-log",
    ] {
        let page = browser.get(path).await?;
        assert_eq!(
            (page.status, page.location.as_str()),
            (303, "/dashboard/login"),
            "{path}"
        );
    }
    let ops = browser.get("/dashboard/ops").await?;
    assert_eq!(
        (ops.status, ops.location.as_str()),
        (303, "/dashboard/ops/login")
    );
    // A forged session cookie is no session, and is dropped.
    browser
        .cookies
        .insert("catalytic_session".into(), "forged.jwt.value".into());
    let forged = browser.get("/dashboard/jobs").await?;
    assert_eq!(
        (forged.status, forged.location.as_str()),
        (303, "/dashboard/login")
    );
    assert!(!browser.cookies.contains_key("catalytic_session"));
    app.teardown().await
}

#[tokio::test]
async fn another_tenants_job_is_not_found() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    app.register("ada@example.com").await?;
    let mut browser = Browser::new(&app)?;
    browser.log_in("ada@example.com", PASSWORD).await?;

    let other_key = app.new_tenant_key(Plan::Free).await?;
    let body = json!({"lattice": {"dimensions": 2, "size": 5}, "operation": "shortest_path",
                      "params": {"start": [0, 0], "end": [4, 4]}});
    let theirs: Value = app.submit_as(&other_key, &body).await?.json().await?;
    let theirs = theirs["id"].as_str().unwrap_or_default().to_owned();
    let page = browser.get(&format!("/dashboard/jobs/{theirs}")).await?;
    assert_eq!(page.status, 404, "{}", page.body);
    assert!(!page.body.contains(&theirs), "{}", page.body);
    let list = browser.get("/dashboard/jobs").await?;
    assert!(!list.body.contains(&theirs));
    assert_eq!(browser.get("/dashboard/jobs/not-a-uuid").await?.status, 404);

    // Our own job, submitted through the form, is shown.
    let csrf = browser.csrf("/dashboard/jobs/new").await?;
    let submitted = browser
        .post("/dashboard/jobs", &with_csrf(PATH_FORM, &csrf))
        .await?;
    assert_eq!(submitted.status, 303, "{}", submitted.body);
    assert!(submitted.location.starts_with("/dashboard/jobs/"));
    let ours = browser.get(&submitted.location).await?;
    assert_eq!(ours.status, 200);
    assert!(ours.body.contains("shortest_path") && ours.body.contains("queued"));
    app.teardown().await
}

#[tokio::test]
async fn a_queued_job_is_cancelled_from_its_page_by_its_tenant_only() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    app.register("ada@example.com").await?;
    let mut ada = Browser::new(&app)?;
    ada.log_in("ada@example.com", PASSWORD).await?;
    let csrf = ada.csrf("/dashboard/jobs/new").await?;
    // No worker runs in this test: the job stays queued.
    let job = ada
        .post("/dashboard/jobs", &with_csrf(PATH_FORM, &csrf))
        .await?
        .location;
    let page = ada.get(&job).await?;
    assert!(page.body.contains("Cancel job"), "{}", page.body);

    app.register("eve@example.com").await?;
    let mut eve = Browser::new(&app)?;
    eve.log_in("eve@example.com", PASSWORD).await?;
    let eves = eve.csrf("/dashboard/jobs/new").await?;
    let theirs = eve
        .post(&format!("{job}/cancel"), &[("csrf", &eves)])
        .await?;
    assert_eq!(theirs.status, 404, "{}", theirs.body);

    let cancelled = ada
        .post(&format!("{job}/cancel"), &[("csrf", &csrf)])
        .await?;
    assert_eq!(
        (cancelled.status, cancelled.location.as_str()),
        (303, job.as_str())
    );
    let page = ada.get(&job).await?;
    assert!(
        page.body.contains(r#"data-status="cancelled""#),
        "{}",
        page.body
    );
    assert!(!page.body.contains("Cancel job"));
    let again = ada
        .post(&format!("{job}/cancel"), &[("csrf", &csrf)])
        .await?;
    assert_eq!(again.status, 409, "{}", again.body);

    // Finished: it may be deleted, by its tenant only, and is gone.
    assert!(page.body.contains("Delete job"), "{}", page.body);
    let theirs = eve
        .post(&format!("{job}/delete"), &[("csrf", &eves)])
        .await?;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    let deleted = ada
        .post(&format!("{job}/delete"), &[("csrf", &csrf)])
        .await?;
    assert_eq!(
        (deleted.status, deleted.location.as_str()),
        (303, "/dashboard/jobs")
    );
    assert_eq!(ada.get(&job).await?.status, 404);
    app.teardown().await
}

#[tokio::test]
async fn a_viewer_cannot_submit_the_form() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("owner@example.com").await?;
    app.join(&owner.access, "viewer@example.com", "viewer")
        .await?;
    let mut viewer = Browser::new(&app)?;
    viewer.log_in("viewer@example.com", PASSWORD).await?;

    let form = viewer.get("/dashboard/jobs/new").await?;
    assert!(
        form.body.contains("may read jobs but not submit"),
        "{}",
        form.body
    );
    let csrf = csrf_of(&form.body)?;
    let refused = viewer
        .post("/dashboard/jobs", &with_csrf(PATH_FORM, &csrf))
        .await?;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("viewer"), "{}", refused.body);
    assert_eq!(job_count(&app, &owner.access).await?, 0);
    // Webhooks are for admins: the page says so instead of listing them.
    assert_eq!(viewer.get("/dashboard/webhooks").await?.status, 403);
    app.teardown().await
}

#[tokio::test]
async fn forms_without_the_right_csrf_token_are_refused() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("ada@example.com").await?;
    let mut browser = Browser::new(&app)?;

    // The login form: no token, or a token of another browser's nonce.
    browser.get("/dashboard/login").await?;
    let login = [("email", "ada@example.com"), ("password", PASSWORD)];
    assert_eq!(browser.post("/dashboard/login", &login).await?.status, 403);
    let mut other = Browser::new(&app)?;
    let foreign = other.csrf("/dashboard/login").await?;
    let refused = browser
        .post("/dashboard/login", &with_csrf(&login, &foreign))
        .await?;
    assert_eq!(refused.status, 403);
    assert!(!browser.cookies.contains_key("catalytic_session"));

    browser.log_in("ada@example.com", PASSWORD).await?;
    let csrf = browser.csrf("/dashboard/jobs/new").await?;
    // Missing, wrong, another session's, and a cross-site request with the right one.
    assert_eq!(
        browser.post("/dashboard/jobs", PATH_FORM).await?.status,
        403
    );
    let wrong = "00".repeat(32);
    assert_eq!(
        browser
            .post("/dashboard/jobs", &with_csrf(PATH_FORM, &wrong))
            .await?
            .status,
        403
    );
    other.log_in("ada@example.com", PASSWORD).await?;
    let others = other.csrf("/dashboard/jobs/new").await?;
    assert_ne!(others, csrf, "tokens are bound to the session");
    assert_eq!(
        browser
            .post("/dashboard/jobs", &with_csrf(PATH_FORM, &others))
            .await?
            .status,
        403
    );
    let cross_site = browser
        .http
        .post(format!("{}/dashboard/jobs", browser.base))
        .header("sec-fetch-site", "cross-site")
        .form(&with_csrf(PATH_FORM, &csrf));
    assert_eq!(browser.send(cross_site).await?.status, 403);
    assert_eq!(job_count(&app, &owner.access).await?, 0);
    // The right token works.
    let ok = browser
        .post("/dashboard/jobs", &with_csrf(PATH_FORM, &csrf))
        .await?;
    assert_eq!(ok.status, 303, "{}", ok.body);
    assert_eq!(job_count(&app, &owner.access).await?, 1);
    app.teardown().await
}

#[tokio::test]
async fn bad_submissions_show_the_apis_field_errors() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    app.register("ada@example.com").await?;
    let mut browser = Browser::new(&app)?;
    browser.log_in("ada@example.com", PASSWORD).await?;
    let csrf = browser.csrf("/dashboard/jobs/new").await?;
    let mut form = with_csrf(PATH_FORM, &csrf);
    form.retain(|(k, _)| *k != "end_x");
    form.push(("end_x", "60"));
    let page = browser.post("/dashboard/jobs", &form).await?;
    assert_eq!(page.status, 422, "{}", page.body);
    assert!(page.body.contains("params.end[0]"), "{}", page.body);
    let json = browser
        .post(
            "/dashboard/jobs",
            &[("csrf", &csrf), ("request", "{not json")],
        )
        .await?;
    assert_eq!(json.status, 400);
    app.teardown().await
}

#[tokio::test]
async fn operators_see_the_fleet_and_tenants_do_not() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let key = catalytic_api::bootstrap::create_operator_key(&app.settings, "ops").await?;
    let mut browser = Browser::new(&app)?;
    let csrf = browser.csrf("/dashboard/ops/login").await?;
    let wrong = format!("clo_{}", "0".repeat(64));
    let refused = browser
        .post("/dashboard/ops/login", &[("key", &wrong), ("csrf", &csrf)])
        .await?;
    assert_eq!(refused.status, 401);
    let ok = browser
        .post(
            "/dashboard/ops/login",
            &[("key", key.expose().as_str()), ("csrf", &csrf)],
        )
        .await?;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/dashboard/ops"));
    let fleet = browser.get("/dashboard/ops").await?;
    assert_eq!(fleet.status, 200, "{}", fleet.body);
    assert!(fleet.body.contains("Queues") && fleet.body.contains("Workers"));

    // A tenant API key in the operator cookie is no operator.
    let mut tenant = Browser::new(&app)?;
    tenant
        .cookies
        .insert("catalytic_operator".into(), app.key.clone());
    let page = tenant.get("/dashboard/ops").await?;
    assert_eq!(
        (page.status, page.location.as_str()),
        (303, "/dashboard/ops/login")
    );
    app.teardown().await
}

#[tokio::test]
async fn the_docs_page_loads_only_vendored_assets() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let page = app.get("/docs").await?;
    assert_eq!(page.status(), 200);
    let csp = page
        .headers()
        .get("content-security-policy")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    let html = page.text().await?;
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "{html}"
    );
    for asset in [
        "/docs/assets/swagger-ui-bundle.js",
        "/docs/assets/swagger-ui.css",
        "/docs/assets/swagger-initializer.js",
    ] {
        assert!(html.contains(asset), "{asset} not on the page");
        let response = app.get(asset).await?;
        assert_eq!(response.status(), 200, "{asset}");
        assert!(response.bytes().await?.len() > 100, "{asset} is empty");
    }
    assert_eq!(app.get("/docs/assets/other.js").await?.status(), 404);
    app.teardown().await
}

#[tokio::test]
async fn schedules_are_listed_paused_and_triggered_from_the_dashboard() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("ada@example.com").await?;
    let created: Value = app
        .post_as(
            "/v1/schedules",
            Some(&owner.access),
            &json!({"name": "nightly", "cron": "30 2 * * *", "timezone": "Europe/Paris",
                    "job": {"lattice": {"dimensions": 2, "size": 6}, "operation": "shortest_path",
                            "params": {"start": [0, 0], "end": [5, 5]}}}),
        )
        .await?
        .json()
        .await?;
    let id = created["id"].as_str().unwrap_or_default().to_owned();
    let mut ada = Browser::new(&app)?;
    ada.log_in("ada@example.com", PASSWORD).await?;
    let list = ada.get("/dashboard/schedules").await?;
    assert_eq!(list.status, 200);
    assert!(
        list.body.contains("nightly") && list.body.contains("30 2 * * *"),
        "{}",
        list.body
    );
    let csrf = csrf_of(&list.body)?;

    let paused = ada
        .post(
            &format!("/dashboard/schedules/{id}/pause"),
            &[("csrf", &csrf)],
        )
        .await?;
    assert_eq!(
        (paused.status, paused.location.as_str()),
        (303, "/dashboard/schedules")
    );
    assert!(
        ada.get("/dashboard/schedules")
            .await?
            .body
            .contains("paused")
    );

    let triggered = ada
        .post(
            &format!("/dashboard/schedules/{id}/trigger"),
            &[("csrf", &csrf)],
        )
        .await?;
    assert_eq!(triggered.status, 303, "{}", triggered.body);
    assert!(
        triggered.location.starts_with("/dashboard/jobs/"),
        "{}",
        triggered.location
    );
    assert_eq!(job_count(&app, &owner.access).await?, 1);
    let history = ada.get(&format!("/dashboard/schedules/{id}")).await?;
    assert!(
        history.body.contains("(manual)") && history.body.contains("submitted"),
        "{}",
        history.body
    );

    // Without the token, or for another tenant, nothing happens.
    let forged = ada
        .post(
            &format!("/dashboard/schedules/{id}/trigger"),
            &[("csrf", "forged")],
        )
        .await?;
    assert_eq!(forged.status, 403, "{}", forged.body);
    app.signup("eve@example.com").await?;
    let mut eve = Browser::new(&app)?;
    eve.log_in("eve@example.com", PASSWORD).await?;
    let eves = eve.csrf("/dashboard/schedules").await?;
    let theirs = eve
        .post(
            &format!("/dashboard/schedules/{id}/trigger"),
            &[("csrf", &eves)],
        )
        .await?;
    assert_eq!(theirs.status, 404, "{}", theirs.body);
    assert_eq!(job_count(&app, &owner.access).await?, 1);
    app.teardown().await
}

#[tokio::test]
async fn every_queued_job_is_cancelled_from_the_list_at_once() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("ada@example.com").await?;
    let mut ada = Browser::new(&app)?;
    ada.log_in("ada@example.com", PASSWORD).await?;
    let csrf = ada.csrf("/dashboard/jobs/new").await?;
    // No worker runs in this test: the jobs stay queued.
    for _ in 0..3 {
        ada.post("/dashboard/jobs", &with_csrf(PATH_FORM, &csrf))
            .await?;
    }
    let list = ada.get("/dashboard/jobs?status=queued").await?;
    assert!(
        list.body.contains("Cancel every queued job"),
        "{}",
        list.body
    );
    let finished = ada.get("/dashboard/jobs?status=succeeded").await?;
    assert!(
        !finished.body.contains("cancel-matching"),
        "no bulk cancel of finished jobs"
    );

    let forged = ada
        .post(
            "/dashboard/jobs/cancel",
            &[("csrf", "forged"), ("status", "queued")],
        )
        .await?;
    assert_eq!(forged.status, 403);
    let done = ada
        .post(
            "/dashboard/jobs/cancel",
            &[("csrf", &csrf), ("status", "queued")],
        )
        .await?;
    assert_eq!(
        (done.status, done.location.as_str()),
        (303, "/dashboard/jobs?status=queued")
    );
    let cancelled: Value = app
        .get_as("/v1/jobs?status=cancelled", &owner.access)
        .await?
        .json()
        .await?;
    assert_eq!(
        cancelled["items"].as_array().map(Vec::len),
        Some(3),
        "{cancelled}"
    );
    assert_eq!(job_count(&app, &owner.access).await?, 3);
    app.teardown().await
}

/// Ada, logged in, with a job she submitted from the form: its page and id.
async fn ada_with_a_job(app: &TestApp) -> anyhow::Result<(Browser, String, String)> {
    app.register("ada@example.com").await?;
    let mut ada = Browser::new(app)?;
    ada.log_in("ada@example.com", PASSWORD).await?;
    let csrf = ada.csrf("/dashboard/jobs/new").await?;
    let page = ada
        .post("/dashboard/jobs", &with_csrf(PATH_FORM, &csrf))
        .await?
        .location;
    let id = page.rsplit('/').next().unwrap_or_default().to_owned();
    Ok((ada, page, id))
}

#[tokio::test]
async fn a_running_jobs_page_shows_its_progress() -> anyhow::Result<()> {
    use catalytic_shared::job::JobState;
    let app = spawn_app().await?;
    let (mut ada, page, id) = ada_with_a_job(&app).await?;
    assert!(!ada.get(&page).await?.body.contains("<progress"));
    crate::jobs_lifecycle::transition(&app, &id, JobState::Queued, crate::jobs_lifecycle::claim())
        .await?;
    let reported =
        catalytic_shared::db::progress::report(&app.db.pool, id.parse()?, 1, 400, 1000, "vertices")
            .await?;
    assert!(reported);
    let shown = ada.get(&page).await?;
    assert!(
        shown.body.contains(r#"<progress value="400" max="1000">"#) && shown.body.contains("40%"),
        "{}",
        shown.body
    );
    app.teardown().await
}

#[tokio::test]
async fn a_stored_result_part_is_downloaded_from_the_jobs_page() -> anyhow::Result<()> {
    use catalytic_shared::job::JobState;
    let app = spawn_app().await?;
    let (mut ada, page, id) = ada_with_a_job(&app).await?;
    crate::jobs_lifecycle::transition(&app, &id, JobState::Queued, crate::jobs_lifecycle::claim())
        .await?;
    // A 200 × 100 field: distance = x0 + x1 from the corner.
    let mut packer = catalytic_shared::result_parts::Packer::npy("field", "<i4", &[200, 100], true);
    packer.write_i32s((0..200 * 100).map(|i| i % 200 + i / 200))?;
    let packed = packer.finish()?;
    let length = packed.length;
    catalytic_shared::db::result_parts::store(&app.db.pool, id.parse()?, 1, &[packed]).await?;
    // The worker lists its parts in the result; so does this stand-in.
    let done = catalytic_shared::db::jobs::Change::Succeed {
        result: serde_json::json!({"parts": [{"name": "field", "dtype": "<i4", "shape": [200, 100],
                                              "bytes": length}]}),
        usage: catalytic_shared::job::Usage::default(),
    };
    crate::jobs_lifecycle::transition(&app, &id, JobState::Running, done).await?;
    let shown = ada.get(&page).await?;
    let link = format!("/dashboard/jobs/{id}/result/field");
    assert!(shown.body.contains(&link), "{}", shown.body);
    let downloaded = ada.get(&link).await?;
    assert_eq!(downloaded.status, 200);
    // The page helper reads text: the .npy header is, the data is not.
    assert!(
        downloaded.body.contains("NUMPY") && downloaded.body.contains("'shape': (200, 100)"),
        "{}",
        &downloaded.body[..100.min(downloaded.body.len())]
    );
    // A 2-D field is drawn as a heat map.
    let picture = format!("{link}/heatmap.svg");
    assert!(shown.body.contains(&picture), "{}", shown.body);
    let svg = ada.get(&picture).await?;
    assert_eq!(svg.status, 200);
    assert!(
        svg.body.starts_with("<svg") && svg.body.contains("200 × 100 cells"),
        "{}",
        svg.body
    );
    app.teardown().await
}

async fn mails_to(app: &TestApp, to: &str, template: &str) -> anyhow::Result<i64> {
    Ok(sqlx::query_scalar(
        "SELECT count(*) FROM mail_messages WHERE to_address = $1 AND template = $2",
    )
    .bind(to)
    .bind(template)
    .fetch_one(&app.db.pool)
    .await?)
}

async fn is_verified(app: &TestApp, email: &str) -> anyhow::Result<bool> {
    Ok(
        sqlx::query_scalar("SELECT email_verified_at IS NOT NULL FROM users WHERE email = $1")
            .bind(email)
            .fetch_one(&app.db.pool)
            .await?,
    )
}

/// The `<tr>` of the first audit record of `action` on an audit-log page.
fn audit_row<'a>(html: &'a str, action: &str) -> Option<&'a str> {
    let start = html.find(&format!(r#"data-action="{action}""#))?;
    let end = html[start..].find("</tr>")? + start;
    Some(&html[start..end])
}

const NEW_PASSWORD: &str = "violet tangerine orbit forty two";

/// Posts the reset-password form: the token, the new password and its copy.
async fn reset(
    browser: &mut Browser,
    csrf: &str,
    token: &str,
    new: &str,
    again: &str,
) -> anyhow::Result<Page> {
    browser
        .post(
            "/dashboard/reset-password",
            &[
                ("token", token),
                ("new_password", new),
                ("confirm_password", again),
                ("csrf", csrf),
            ],
        )
        .await
}

#[tokio::test]
async fn registering_from_the_dashboard_answers_alike_for_a_taken_address() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let mut browser = Browser::new(&app)?;
    let new = browser.register("ada@example.com", PASSWORD).await?;
    assert_eq!(new.status, 202, "{}", new.body);
    assert!(
        new.body.contains("A new account can log in now") && new.body.contains("/dashboard/login"),
        "{}",
        new.body
    );
    // The address is taken now: the page is the same, byte for byte.
    let mut other = Browser::new(&app)?;
    let taken = other.register("ada@example.com", NEW_PASSWORD).await?;
    assert_eq!((taken.status, &taken.body), (202, &new.body));
    assert_eq!(
        mails_to(&app, "ada@example.com", "account_exists").await?,
        1
    );
    assert_eq!(mails_to(&app, "ada@example.com", "verify_email").await?, 1);

    // The API's field errors, named, and the typed email kept.
    let weak = browser.register("bob@example.com", "password").await?;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(weak.body.contains("password: "), "{}", weak.body);
    assert!(
        weak.body.contains(r#"value="bob@example.com""#),
        "{}",
        weak.body
    );
    // Without the form's token nothing is made.
    let forged = browser
        .post(
            "/dashboard/register",
            &[("email", "eve@example.com"), ("password", NEW_PASSWORD)],
        )
        .await?;
    assert_eq!(forged.status, 403);
    assert_eq!(mails_to(&app, "eve@example.com", "verify_email").await?, 0);

    // The new account logs in at once, with the first password only.
    assert_eq!(
        browser
            .log_in("ada@example.com", NEW_PASSWORD)
            .await?
            .status,
        401
    );
    let ok = browser.log_in("ada@example.com", PASSWORD).await?;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/dashboard/jobs"));
    let login = browser.get("/dashboard/login").await?;
    assert!(
        login.body.contains(r#"href="/dashboard/forgot-password""#)
            && login.body.contains(r#"href="/dashboard/register""#),
        "{}",
        login.body
    );
    app.teardown().await
}

#[tokio::test]
async fn the_verification_link_is_spent_by_its_button_not_by_opening_it() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let mut ada = Browser::new(&app)?;
    ada.register("ada@example.com", PASSWORD).await?;
    ada.log_in("ada@example.com", PASSWORD).await?;
    let account = ada.get("/dashboard/account").await?;
    assert_eq!(account.status, 200, "{}", account.body);
    assert!(
        account.body.contains("ada@example.com")
            && account.body.contains(r#"data-verified="false""#)
            && account.body.contains("Send a new verification link"),
        "{}",
        account.body
    );

    // A new link: the first one stops working.
    let first = app.mailed_token("ada@example.com", "verify_email").await?;
    let csrf = csrf_of(&account.body)?;
    let resent = ada
        .post("/dashboard/account/verify-email", &[("csrf", &csrf)])
        .await?;
    assert_eq!(resent.status, 200, "{}", resent.body);
    assert!(
        resent
            .body
            .contains("A new verification link is on its way"),
        "{}",
        resent.body
    );
    let second = app.mailed_token("ada@example.com", "verify_email").await?;
    assert_ne!(first, second);

    // Opening the link (as a mail scanner would) shows a button, no more.
    let mut mail = Browser::new(&app)?;
    let opened = mail
        .get(&format!("/dashboard/verify-email?token={second}"))
        .await?;
    assert_eq!(opened.status, 200, "{}", opened.body);
    assert!(
        opened
            .body
            .contains(&format!(r#"name="token" value="{second}""#)),
        "{}",
        opened.body
    );
    assert!(!is_verified(&app, "ada@example.com").await?);
    let again = ada.get("/dashboard/account").await?;
    assert!(
        again.body.contains(r#"data-verified="false""#),
        "{}",
        again.body
    );

    let csrf = csrf_of(&opened.body)?;
    let stale = mail
        .post(
            "/dashboard/verify-email",
            &[("token", &first), ("csrf", &csrf)],
        )
        .await?;
    assert_eq!(stale.status, 422, "{}", stale.body);
    assert!(
        stale
            .body
            .contains("token: unknown, expired or already used"),
        "{}",
        stale.body
    );
    assert!(!is_verified(&app, "ada@example.com").await?);
    let forged = mail
        .post("/dashboard/verify-email", &[("token", &second)])
        .await?;
    assert_eq!(forged.status, 403);
    assert!(!is_verified(&app, "ada@example.com").await?);

    let verified = mail
        .post(
            "/dashboard/verify-email",
            &[("token", &second), ("csrf", &csrf)],
        )
        .await?;
    assert_eq!(verified.status, 200, "{}", verified.body);
    assert!(verified.body.contains("is verified"), "{}", verified.body);
    assert!(is_verified(&app, "ada@example.com").await?);
    let spent = mail
        .post(
            "/dashboard/verify-email",
            &[("token", &second), ("csrf", &csrf)],
        )
        .await?;
    assert_eq!(spent.status, 422, "{}", spent.body);

    let account = ada.get("/dashboard/account").await?;
    assert!(
        account.body.contains(r#"data-verified="true""#)
            && !account.body.contains("Send a new verification link"),
        "{}",
        account.body
    );
    let csrf = csrf_of(&account.body)?;
    let needless = ada
        .post("/dashboard/account/verify-email", &[("csrf", &csrf)])
        .await?;
    assert_eq!(needless.status, 409, "{}", needless.body);
    assert!(
        needless.body.contains("verified already"),
        "{}",
        needless.body
    );
    assert_eq!(mail.get("/dashboard/verify-email").await?.status, 400);
    app.teardown().await
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_mailed_link() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let mut ada = Browser::new(&app)?;
    ada.register("ada@example.com", PASSWORD).await?;
    ada.log_in("ada@example.com", PASSWORD).await?;

    // The same answer for an address with an account and one without.
    let mut browser = Browser::new(&app)?;
    let csrf = browser.csrf("/dashboard/forgot-password").await?;
    let known = browser
        .post(
            "/dashboard/forgot-password",
            &[("email", "ada@example.com"), ("csrf", &csrf)],
        )
        .await?;
    let unknown = browser
        .post(
            "/dashboard/forgot-password",
            &[("email", "nobody@example.com"), ("csrf", &csrf)],
        )
        .await?;
    assert_eq!(known.status, 202, "{}", known.body);
    assert!(
        known.body.contains("If this address has an account"),
        "{}",
        known.body
    );
    assert_eq!((unknown.status, &unknown.body), (202, &known.body));
    assert_eq!(
        mails_to(&app, "ada@example.com", "password_reset").await?,
        1
    );
    assert_eq!(
        mails_to(&app, "nobody@example.com", "password_reset").await?,
        0
    );
    let token = app
        .mailed_token("ada@example.com", "password_reset")
        .await?;

    let page = browser
        .get(&format!("/dashboard/reset-password?token={token}"))
        .await?;
    assert_eq!(page.status, 200, "{}", page.body);
    let csrf = csrf_of(&page.body)?;
    let bogus = format!("cpr_{}", "0".repeat(64));
    let bad_token = reset(&mut browser, &csrf, &bogus, NEW_PASSWORD, NEW_PASSWORD).await?;
    assert_eq!(bad_token.status, 422, "{}", bad_token.body);
    assert!(
        bad_token
            .body
            .contains("token: unknown, expired or already used"),
        "{}",
        bad_token.body
    );
    let typo = reset(
        &mut browser,
        &csrf,
        &token,
        NEW_PASSWORD,
        "violet tangerine orbit forty",
    )
    .await?;
    assert_eq!(typo.status, 422, "{}", typo.body);
    assert!(typo.body.contains("differ"), "{}", typo.body);
    let weak = reset(&mut browser, &csrf, &token, "password", "password").await?;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(weak.body.contains("new_password: "), "{}", weak.body);
    // Neither refusal spent the link.
    let done = reset(&mut browser, &csrf, &token, NEW_PASSWORD, NEW_PASSWORD).await?;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("Your password is set"), "{}", done.body);
    let spent = reset(&mut browser, &csrf, &token, NEW_PASSWORD, NEW_PASSWORD).await?;
    assert_eq!(spent.status, 422, "{}", spent.body);

    // Every session ended; the new password logs in, the old one does not.
    let ended = ada.get("/dashboard/account").await?;
    assert_eq!(
        (ended.status, ended.location.as_str()),
        (303, "/dashboard/login")
    );
    assert_eq!(ada.log_in("ada@example.com", PASSWORD).await?.status, 401);
    let ok = ada.log_in("ada@example.com", NEW_PASSWORD).await?;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/dashboard/jobs"));
    app.teardown().await
}

#[tokio::test]
async fn the_account_page_changes_the_password_and_ends_other_sessions() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let mut ada = Browser::new(&app)?;
    ada.register("ada@example.com", PASSWORD).await?;
    ada.log_in("ada@example.com", PASSWORD).await?;
    let mut elsewhere = Browser::new(&app)?;
    elsewhere.log_in("ada@example.com", PASSWORD).await?;
    assert_eq!(elsewhere.get("/dashboard/account").await?.status, 200);

    let csrf = ada.csrf("/dashboard/account").await?;
    let change = |current: &'static str, new: &'static str, again: &'static str| {
        vec![
            ("current_password", current),
            ("new_password", new),
            ("confirm_password", again),
        ]
    };
    let wrong = ada
        .post(
            "/dashboard/account/password",
            &with_csrf(
                &change("not the password", NEW_PASSWORD, NEW_PASSWORD),
                &csrf,
            ),
        )
        .await?;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert!(wrong.body.contains("current_password: "), "{}", wrong.body);
    let typo = ada
        .post(
            "/dashboard/account/password",
            &with_csrf(&change(PASSWORD, NEW_PASSWORD, "violet tangerine"), &csrf),
        )
        .await?;
    assert_eq!(typo.status, 422, "{}", typo.body);
    assert!(typo.body.contains("differ"), "{}", typo.body);
    let forged = ada
        .post(
            "/dashboard/account/password",
            &change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD),
        )
        .await?;
    assert_eq!(forged.status, 403);

    let changed = ada
        .post(
            "/dashboard/account/password",
            &with_csrf(&change(PASSWORD, NEW_PASSWORD, NEW_PASSWORD), &csrf),
        )
        .await?;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert!(
        changed.body.contains("Your password is changed"),
        "{}",
        changed.body
    );
    // This session goes on; the other one ended.
    assert_eq!(ada.get("/dashboard/account").await?.status, 200);
    let ended = elsewhere.get("/dashboard/account").await?;
    assert_eq!(
        (ended.status, ended.location.as_str()),
        (303, "/dashboard/login")
    );
    let mut fresh = Browser::new(&app)?;
    assert_eq!(fresh.log_in("ada@example.com", PASSWORD).await?.status, 401);
    let ok = fresh.log_in("ada@example.com", NEW_PASSWORD).await?;
    assert_eq!((ok.status, ok.location.as_str()), (303, "/dashboard/jobs"));
    app.teardown().await
}

#[tokio::test]
async fn the_audit_log_shows_sign_ins_to_admins_and_refuses_viewers() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let mut ada = Browser::new(&app)?;
    ada.register("ada@example.com", PASSWORD).await?;
    ada.log_in("ada@example.com", PASSWORD).await?;
    let log = ada.get("/dashboard/audit-log").await?;
    assert_eq!(log.status, 200, "{}", log.body);
    // Signed in through the dashboard: the record has the browser's address.
    let sign_in = audit_row(&log.body, "auth.sign_in")
        .ok_or_else(|| anyhow::anyhow!("no sign-in row in {}", log.body))?;
    assert!(
        sign_in.contains("ada@example.com") && sign_in.contains("127.0.0.1"),
        "{sign_in}"
    );
    assert!(
        audit_row(&log.body, "user.registered").is_some(),
        "{}",
        log.body
    );
    let users = ada.get("/dashboard/audit-log?action=user.").await?;
    assert_eq!(users.status, 200, "{}", users.body);
    assert!(
        audit_row(&users.body, "user.registered").is_some()
            && audit_row(&users.body, "auth.sign_in").is_none(),
        "{}",
        users.body
    );
    assert!(
        users.body.contains(r#"<option value="user." selected>"#),
        "{}",
        users.body
    );
    assert_eq!(
        ada.get("/dashboard/audit-log?action=nope").await?.status,
        422
    );

    // Vera joins as a viewer through the invitation's page; the log is not hers.
    app.verify("ada@example.com").await?;
    let owner = app.login("ada@example.com").await?;
    let invitation = app
        .invite(&owner.access, "vera@example.com", "viewer")
        .await?;
    let mut vera = Browser::new(&app)?;
    let join = vera
        .get(&format!("/dashboard/join?invitation={invitation}"))
        .await?;
    assert_eq!(join.status, 200, "{}", join.body);
    let csrf = csrf_of(&join.body)?;
    let other = vera
        .post(
            "/dashboard/join",
            &[
                ("invitation", invitation.as_str()),
                ("email", "eve@example.com"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await?;
    assert_eq!(other.status, 422, "{}", other.body);
    assert!(other.body.contains("email: "), "{}", other.body);
    let joined = vera
        .post(
            "/dashboard/join",
            &[
                ("invitation", invitation.as_str()),
                ("email", "vera@example.com"),
                ("password", PASSWORD),
                ("csrf", &csrf),
            ],
        )
        .await?;
    assert_eq!(joined.status, 202, "{}", joined.body);
    vera.log_in("vera@example.com", PASSWORD).await?;
    let refused = vera.get("/dashboard/audit-log").await?;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("admin"), "{}", refused.body);

    let log = ada.get("/dashboard/audit-log").await?;
    let joined = audit_row(&log.body, "user.joined")
        .ok_or_else(|| anyhow::anyhow!("no join row in {}", log.body))?;
    assert!(joined.contains("vera@example.com"), "{joined}");
    app.teardown().await
}

#[tokio::test]
async fn concurrency_key_limits_are_set_and_deleted_from_the_dashboard() -> anyhow::Result<()> {
    let app = spawn_app().await?;
    let owner = app.signup("ada@example.com").await?;
    let mut ada = Browser::new(&app)?;
    ada.log_in("ada@example.com", PASSWORD).await?;
    let empty = ada.get("/dashboard/concurrency-keys").await?;
    assert_eq!(empty.status, 200);
    assert!(
        empty.body.contains("No stored limits")
            && empty.body.contains(r#"href="/dashboard/concurrency-keys""#),
        "{}",
        empty.body
    );
    let csrf = csrf_of(&empty.body)?;

    let set = |max: &'static str| [("key", "nightly/export"), ("max", max)];
    let stored = ada
        .post("/dashboard/concurrency-keys", &with_csrf(&set("3"), &csrf))
        .await?;
    assert_eq!(
        (stored.status, stored.location.as_str()),
        (303, "/dashboard/concurrency-keys"),
        "{}",
        stored.body
    );
    let got: Value = app
        .get_as("/v1/concurrency-keys/nightly%2Fexport", &owner.access)
        .await?
        .json()
        .await?;
    assert_eq!(got["max_concurrency"], 3, "{got}");
    let listed = ada.get("/dashboard/concurrency-keys").await?;
    assert!(
        listed.body.contains(r#"data-key="nightly/export""#),
        "{}",
        listed.body
    );

    // The API's refusals show above the form, naming the field.
    for max in ["0", "lots"] {
        let refused = ada
            .post("/dashboard/concurrency-keys", &with_csrf(&set(max), &csrf))
            .await?;
        assert_eq!(refused.status, 422, "{max}: {}", refused.body);
        assert!(refused.body.contains("max_concurrency"), "{}", refused.body);
    }
    let forged = ada
        .post(
            "/dashboard/concurrency-keys",
            &with_csrf(&set("9"), "forged"),
        )
        .await?;
    assert_eq!(forged.status, 403, "{}", forged.body);

    // Viewers see the limits but get no forms, and the API refuses theirs.
    app.join(&owner.access, "vic@example.com", "viewer").await?;
    let mut vic = Browser::new(&app)?;
    vic.log_in("vic@example.com", PASSWORD).await?;
    let seen = vic.get("/dashboard/concurrency-keys").await?;
    assert!(
        seen.body.contains("nightly/export") && !seen.body.contains("Set a limit"),
        "{}",
        seen.body
    );
    let vics = csrf_of(&seen.body)?;
    let refused = vic
        .post(
            "/dashboard/concurrency-keys/delete",
            &[("key", "nightly/export"), ("csrf", &vics)],
        )
        .await?;
    assert_eq!(refused.status, 403, "{}", refused.body);

    let deleted = ada
        .post(
            "/dashboard/concurrency-keys/delete",
            &[("key", "nightly/export"), ("csrf", &csrf)],
        )
        .await?;
    assert_eq!(deleted.status, 303, "{}", deleted.body);
    let after = ada.get("/dashboard/concurrency-keys").await?;
    assert!(after.body.contains("No stored limits"), "{}", after.body);
    app.teardown().await
}
