//! `deadbolt locks ...` and `deadbolt hold ...`: the admin operations on a
//! state directory, printed for people (tables) or programs (`--json`).

use anyhow::Context;

use super::views::{HoldView, LockView, parse_path, parse_time};
use crate::auth::Requester;
use crate::authority::view::rfc3339;
use crate::authority::{AuthorityConfig, LockFilter, LockService, now};
use crate::cli::{HoldAction, HoldArgs, LocksAction, StateArgs};
use crate::locks::{Hold, Timestamp};
use crate::store::{HistoryFilter, StateLocation};

/// The lock authority over a server's state, as this command's process.
fn open(state: &StateArgs) -> anyhow::Result<LockService> {
    let location = crate::config::state_for(state)?;
    // Rare and by hand: always synced, whatever the server's durability.
    let stores =
        crate::store::open(&location, crate::store::Durability::Full).with_context(|| {
            match &location {
                StateLocation::Directory(dir) => {
                    format!("cannot open the state in {}", dir.display())
                }
                _ => "cannot open the state database".to_owned(),
            }
        })?;
    Ok(LockService::new(&stores, AuthorityConfig::default()))
}

fn overview(
    authority: &LockService,
    filter: &LockFilter,
) -> anyhow::Result<(Vec<LockView>, Vec<HoldView>)> {
    let now = now();
    let locks = authority
        .locks(filter)?
        .iter()
        .map(|l| LockView::new(l, now))
        .collect();
    let holds = authority.holds()?.iter().map(HoldView::from).collect();
    Ok((locks, holds))
}

pub fn locks(action: LocksAction) -> anyhow::Result<()> {
    let now = now();
    match action {
        LocksAction::List {
            path,
            user,
            json,
            state,
        } => {
            let authority = open(&state)?;
            let filter = LockFilter {
                path: path.as_deref().map(parse_path).transpose()?,
                holder: user,
            };
            let (locks, holds) = overview(&authority, &filter)?;
            if json {
                println!("{}", serde_json::json!({ "locks": locks, "holds": holds }));
            } else {
                print_locks(&locks);
                print_holds(&holds);
            }
        }
        LocksAction::Break {
            token,
            path,
            reason,
            state,
        } => {
            let authority = open(&state)?;
            let cli = Requester::command_line();
            let broken = match (token, path) {
                (Some(token), _) => vec![authority.break_lock(&token, &cli, reason)?],
                (None, Some(path)) => {
                    authority.break_locks_at(&parse_path(&path)?, &cli, reason)?
                }
                (None, None) => anyhow::bail!("give a lock token or --path"),
            };
            for lock in &broken {
                let view = LockView::new(lock, now);
                println!(
                    "broke {} lock on {} held by {} ({})",
                    view.scope,
                    view.path,
                    view.holder
                        .or(view.owner)
                        .unwrap_or_else(|| "unknown".into()),
                    view.token
                );
            }
        }
        LocksAction::History {
            path,
            since,
            limit,
            json,
            state,
        } => {
            let authority = open(&state)?;
            let filter = HistoryFilter {
                path: path.as_deref().map(parse_path).transpose()?,
                since: since
                    .as_deref()
                    .map(|s| parse_time(s, now, false))
                    .transpose()?,
                limit,
            };
            let events = authority.history(&filter)?;
            if json {
                println!("{}", serde_json::json!({ "events": events }));
            } else {
                println!(
                    "{:<20}  {:<22}  {:<30}  {:<12}  {:<14}  {:<21}  REASON",
                    "TIME", "EVENT", "PATH", "HOLDER", "BY", "CLIENT"
                );
                for e in events {
                    println!(
                        "{:<20}  {:<22}  {:<30}  {:<12}  {:<14}  {:<21}  {}",
                        rfc3339(Timestamp(e.at_ms)),
                        e.kind,
                        e.path,
                        e.holder.unwrap_or_default(),
                        e.actor.unwrap_or_default(),
                        e.client_address.unwrap_or_default(),
                        e.reason.unwrap_or_default()
                    );
                }
            }
        }
    }
    Ok(())
}

pub fn hold(args: HoldArgs) -> anyhow::Result<()> {
    let now = now();
    match args.action {
        Some(HoldAction::Release { path, state }) => {
            let path = parse_path(&path)?;
            open(&state)?.release_hold(&path, &Requester::command_line())?;
            println!("released the hold on {path}");
        }
        Some(HoldAction::List { json, state }) => {
            let holds: Vec<HoldView> = open(&state)?.holds()?.iter().map(HoldView::from).collect();
            if json {
                println!("{}", serde_json::json!({ "holds": holds }));
            } else {
                print_holds(&holds);
            }
        }
        None => {
            let (Some(path), Some(reason)) = (args.path, args.reason) else {
                anyhow::bail!("usage: deadbolt hold PATH --reason TEXT [--until TIME]");
            };
            let authority = open(&args.state)?;
            let cli = Requester::command_line();
            let hold = Hold {
                path: parse_path(&path)?,
                reason,
                until: args
                    .until
                    .as_deref()
                    .map(|t| parse_time(t, now, true))
                    .transpose()?,
                created: now,
                created_by: cli.name().map(str::to_owned),
            };
            authority.set_hold(hold.clone(), &cli)?;
            let until = hold
                .until
                .map(|t| format!(" until {}", rfc3339(t)))
                .unwrap_or_default();
            println!("holding {}{until}: writes there now answer 423", hold.path);
        }
    }
    Ok(())
}

fn print_locks(locks: &[LockView]) {
    if locks.is_empty() {
        println!("no locks");
        return;
    }
    println!(
        "{:<30}  {:<12}  {:<20}  {:<9}  {:<8}  {:<20}  {:<20}  {:<21}  TOKEN",
        "PATH", "HOLDER", "OWNER", "SCOPE", "DEPTH", "SINCE", "EXPIRES", "CLIENT"
    );
    for l in locks {
        println!(
            "{:<30}  {:<12}  {:<20}  {:<9}  {:<8}  {:<20}  {:<20}  {:<21}  {}",
            l.path,
            l.holder.as_deref().unwrap_or("-"),
            l.owner.as_deref().unwrap_or("-"),
            l.scope,
            l.depth,
            l.created,
            l.expires,
            l.client_address.as_deref().unwrap_or("-"),
            l.token
        );
    }
}

fn print_holds(holds: &[HoldView]) {
    if holds.is_empty() {
        return;
    }
    println!();
    println!("{:<30}  {:<20}  {:<20}  REASON", "HELD PATH", "UNTIL", "BY");
    for h in holds {
        println!(
            "{:<30}  {:<20}  {:<20}  {}",
            h.path,
            h.until.as_deref().unwrap_or("until released"),
            h.created_by.as_deref().unwrap_or("-"),
            h.reason
        );
    }
}
