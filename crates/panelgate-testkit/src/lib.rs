//! panelgate-testkit
