"""The baseline of bench_dashboard.py: a minimal two-page Streamlit + Plotly app.

One Plotly line chart and two metrics per page (shared/notes/dashboard.md, section 3), no data.
"""

import plotly.graph_objects as go
import streamlit as st


def page(name: str) -> None:
    st.title(name)
    cols = st.columns(2)
    cols[0].metric("Users", "1,234", "+5%")
    cols[1].metric("Acceptance", "31.2%", "+0.4 pts")
    days = list(range(30))
    fig = go.Figure(go.Scatter(x=days, y=[d * d for d in days], mode="lines", name="series"))
    fig.update_layout(title=f"{name} chart", xaxis_title="day", yaxis_title="value")
    st.plotly_chart(fig, width="stretch")


st.navigation(
    [
        st.Page(lambda: page("First"), title="First", url_path="first", default=True),
        st.Page(lambda: page("Second"), title="Second", url_path="second"),
    ]
).run()
