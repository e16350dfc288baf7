//! The store's contract for people: accounts, sign-in counters, sessions and the audit log.
//! Run on both stores by `store_suite::run_all`.

use rollcall_core::accounts::{
    AccountWrite, AuditEntry, EndSessions, Role, SessionRecord, SignInAttempt,
};
use rollcall_core::store::Store;
use rollcall_core::Scope;

fn write(username: &str, role: Role, schools: Option<Vec<&str>>) -> AccountWrite {
    AccountWrite {
        id: None,
        username: username.into(),
        display_name: format!("{username} (display)"),
        role,
        schools: schools.map(|list| list.into_iter().map(String::from).collect()),
        password_hash: format!("$argon2id$hash-of-{username}"),
        disabled: false,
        created_at: 1_000,
    }
}

fn session(hash: &str, account_id: i64, expires_at: i64) -> SessionRecord {
    SessionRecord {
        token_hash: hash.into(),
        account_id,
        csrf_token: format!("csrf-{hash}"),
        created_at: 1_000,
        expires_at,
    }
}

pub async fn accounts_sessions_and_the_audit_log(store: &dyn Store) {
    let head = store
        .save_account(write("head", Role::Administrator, None))
        .await
        .unwrap();
    let north = store
        .save_account(write("north.staff", Role::Staff, Some(vec!["north"])))
        .await
        .unwrap();
    let nowhere = store
        .save_account(write("nowhere", Role::Viewer, Some(vec![])))
        .await
        .unwrap();
    assert!(head != north && north != nowhere);

    let accounts = store.accounts().await.unwrap();
    let names: Vec<&str> = accounts.iter().map(|a| a.username.as_str()).collect();
    assert_eq!(names, ["head", "north.staff", "nowhere"], "by username");
    let staff = accounts.iter().find(|a| a.id == north).unwrap();
    assert_eq!(staff.role, Role::Staff);
    assert_eq!(staff.schools.as_deref(), Some(&["north".to_string()][..]));
    assert_eq!(staff.scope(), Scope::tenants(["north"]));
    assert_eq!(staff.password_hash, "$argon2id$hash-of-north.staff");
    let none = accounts.iter().find(|a| a.id == nowhere).unwrap();
    assert!(
        !none.scope().allows("north"),
        "an empty list is no school, not every school"
    );
    let admin = accounts.iter().find(|a| a.id == head).unwrap();
    assert_eq!(admin.scope(), Scope::all());

    // Wrong passwords are counted and lock at the third; success starts the count again.
    let failed = SignInAttempt::Failed {
        lock_after: 3,
        lock_until: 9_000,
    };
    store.note_sign_in(north, failed).await.unwrap();
    store.note_sign_in(north, failed).await.unwrap();
    let after_two = account(store, north).await;
    assert_eq!(
        (after_two.failed_sign_ins, after_two.locked_until),
        (2, None)
    );
    store
        .note_sign_in(north, SignInAttempt::Succeeded)
        .await
        .unwrap();
    assert_eq!(account(store, north).await.failed_sign_ins, 0);
    for _ in 0..3 {
        store.note_sign_in(north, failed).await.unwrap();
    }
    let locked = account(store, north).await;
    assert_eq!(locked.locked_until, Some(9_000));
    assert!(locked.is_locked(8_999) && !locked.is_locked(9_000));
    // Saving over the account (a password reset) lifts the lock.
    let mut reset = AccountWrite::from(&locked);
    reset.password_hash = "$argon2id$new".into();
    assert_eq!(store.save_account(reset).await.unwrap(), north);
    let reset = account(store, north).await;
    assert_eq!((reset.failed_sign_ins, reset.locked_until), (0, None));
    assert_eq!(reset.password_hash, "$argon2id$new");

    // Sessions: found by hash until they expire; ended one by one or by account.
    store
        .create_session(session("aa", north, 5_000))
        .await
        .unwrap();
    store
        .create_session(session("bb", north, 5_000))
        .await
        .unwrap();
    store
        .create_session(session("cc", head, 5_000))
        .await
        .unwrap();
    let (found, who) = store.session("aa", 4_999).await.unwrap().unwrap();
    assert_eq!((found.csrf_token.as_str(), who.id), ("csrf-aa", north));
    assert!(
        store.session("aa", 5_000).await.unwrap().is_none(),
        "expired"
    );
    assert!(store.session("zz", 1).await.unwrap().is_none(), "unknown");
    assert_eq!(
        store
            .end_sessions(EndSessions::One("aa".into()))
            .await
            .unwrap(),
        1
    );
    assert!(store.session("aa", 1).await.unwrap().is_none());
    assert!(store.session("bb", 1).await.unwrap().is_some());
    // A disabled account's sessions open nothing.
    let mut disabled = AccountWrite::from(&account(store, north).await);
    disabled.disabled = true;
    store.save_account(disabled.clone()).await.unwrap();
    assert!(store.session("bb", 1).await.unwrap().is_none());
    disabled.disabled = false;
    store.save_account(disabled).await.unwrap();
    assert_eq!(
        store
            .end_sessions(EndSessions::OfAccount(north))
            .await
            .unwrap(),
        1
    );
    assert!(
        store.session("cc", 1).await.unwrap().is_some(),
        "another account's stays"
    );
    assert_eq!(
        store
            .end_sessions(EndSessions::ExpiredBy(5_000))
            .await
            .unwrap(),
        1
    );

    // The audit log: newest first, paged by id.
    for (at, action) in [(1, "sign_in"), (2, "changed"), (3, "exported")] {
        store
            .audit(AuditEntry {
                id: 0,
                at,
                who: "head".into(),
                action: action.into(),
                detail: format!("detail {at}"),
            })
            .await
            .unwrap();
    }
    let newest = store.audit_log(None, 2).await.unwrap();
    let actions: Vec<&str> = newest.iter().map(|e| e.action.as_str()).collect();
    assert_eq!(actions, ["exported", "changed"]);
    let older = store.audit_log(Some(newest[1].id), 10).await.unwrap();
    assert_eq!(older.len(), 1);
    assert_eq!((older[0].at, older[0].detail.as_str()), (1, "detail 1"));
}

async fn account(store: &dyn Store, id: i64) -> rollcall_core::accounts::Account {
    store
        .accounts()
        .await
        .unwrap()
        .into_iter()
        .find(|a| a.id == id)
        .unwrap()
}
