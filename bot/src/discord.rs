//! The only serenity code. OWNER: Discord helper.
