//! `porchlight person add|edit|list|remove`: people who are not (only) members.

use clap::Subcommand;
use porchlight_wire::{Created, PersonIn, PersonOut};
use reqwest::Method;
use serde_json::json;

use super::roster::{CLEARABLE_PERSON, contact_ways, patch_body, s};
use super::{Server, block_on};
use crate::client::Client;
use crate::error::CliError;

/// The person commands.
#[derive(Subcommand)]
pub enum PersonCmd {
    /// Add a person.
    Add {
        /// Full name.
        name: String,
        /// Id (made from the name when absent).
        #[arg(long)]
        id: Option<String>,
        /// Phone, E.164.
        #[arg(long)]
        phone: Option<String>,
        /// A configured webhook channel that reaches them.
        #[arg(long)]
        webhook: Option<String>,
        /// IANA time zone.
        #[arg(long)]
        timezone: Option<String>,
        /// en or es.
        #[arg(long)]
        language: Option<String>,
        /// Ways to reach them, in order, comma-separated: sms, voice, webhook.
        #[arg(long, value_delimiter = ',')]
        contact: Vec<String>,
        /// Their phone is a landline: reach them by a call (contact way `voice`).
        #[arg(long)]
        voice: bool,
        #[command(flatten)]
        server: Server,
    },
    /// Change a person: only the flags given change.
    Edit(PersonEdit),
    /// Remove a person. Refused while they are a member, a coordinator, or anyone's buddy or
    /// family (the places are listed).
    Remove {
        /// Person id.
        id: String,
        #[command(flatten)]
        server: Server,
    },
    /// List people.
    List {
        #[command(flatten)]
        server: Server,
    },
}

/// `porchlight person edit ID [flags]`.
#[derive(clap::Args)]
pub struct PersonEdit {
    /// Person id.
    id: String,
    /// Full name.
    #[arg(long)]
    name: Option<String>,
    /// Phone, E.164.
    #[arg(long)]
    phone: Option<String>,
    /// A configured webhook channel that reaches them.
    #[arg(long)]
    webhook: Option<String>,
    /// IANA time zone.
    #[arg(long)]
    timezone: Option<String>,
    /// en or es.
    #[arg(long)]
    language: Option<String>,
    /// Ways to reach them, in order, comma-separated: sms, voice, webhook.
    #[arg(long, value_delimiter = ',')]
    contact: Vec<String>,
    /// Their phone is a landline: reach them by a call (puts `voice` first in their ways).
    #[arg(long)]
    voice: bool,
    /// Remove a field (repeat): phone, webhook, timezone, language, contact.
    #[arg(long, value_name = "FIELD")]
    clear: Vec<String>,
    #[command(flatten)]
    server: Server,
}

/// Runs a person command.
pub fn run(cmd: PersonCmd) -> Result<(), CliError> {
    block_on(async {
        match cmd {
            PersonCmd::Add {
                name,
                id,
                phone,
                webhook,
                timezone,
                language,
                contact,
                voice,
                server,
            } => {
                let c = Client::new(&server.server)?;
                let body = PersonIn {
                    id,
                    name,
                    phone,
                    webhook,
                    timezone,
                    language,
                    contact: contact_ways(&contact, voice),
                };
                let created: Created = c
                    .json(Method::POST, c.url(&["api", "v1", "people"]), Some(&body))
                    .await?;
                println!("added person {}", created.id);
                Ok(())
            }
            PersonCmd::Edit(e) => edit(e).await,
            PersonCmd::Remove { id, server } => {
                let c = Client::new(&server.server)?;
                c.delete(c.url(&["api", "v1", "people", &id])).await?;
                println!("removed person {id}");
                Ok(())
            }
            PersonCmd::List { server } => {
                let c = Client::new(&server.server)?;
                let people: Vec<PersonOut> = c.get(c.url(&["api", "v1", "people"])).await?;
                for p in people {
                    println!(
                        "{:<20} {:<24} {}",
                        p.id,
                        p.name,
                        p.phone.as_deref().unwrap_or("-")
                    );
                }
                Ok(())
            }
        }
    })
}

/// `porchlight person edit`: a merge patch of the flags given.
async fn edit(e: PersonEdit) -> Result<(), CliError> {
    let contact = contact_ways(&e.contact, e.voice).map(|w| json!(w));
    let body = patch_body(
        vec![
            ("name", s(e.name)),
            ("phone", s(e.phone)),
            ("webhook", s(e.webhook)),
            ("timezone", s(e.timezone)),
            ("language", s(e.language)),
            ("contact", contact),
        ],
        &e.clear,
        CLEARABLE_PERSON,
    )?;
    let c = Client::new(&e.server.server)?;
    let p: PersonOut = c
        .json(
            Method::PATCH,
            c.url(&["api", "v1", "people", &e.id]),
            Some(&body),
        )
        .await?;
    println!(
        "updated person {} ({}, {})",
        e.id,
        p.name,
        p.phone.as_deref().unwrap_or("no phone")
    );
    Ok(())
}
